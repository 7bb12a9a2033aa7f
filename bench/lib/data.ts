// Real rows from the demo models' training data, turned into Open Inference Protocol JSON
// bodies. A few hundred distinct bodies are rotated so that no layer can cache an answer.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MODELS_DIR } from './paths.js';

export interface BenchModel {
  /** Name in the model repository and in the infer URL. */
  name: string;
  inputName: string;
  /** Features per row (the input's trailing dim). */
  width: number;
  /** model.onnx of the newest version directory. */
  onnxPath: string;
  /** Where its real rows come from. */
  dataPath: string;
}

/** Where each benchmarked model's rows live; digits-wide shares the digits data. */
const DATA: Record<string, { file: string; header: boolean }> = {
  digits: { file: 'digits/data/digits.csv.gz', header: false },
  'digits-wide': { file: 'digits/data/digits.csv.gz', header: false },
  'breast-cancer': { file: 'breast-cancer/data/breast_cancer.csv', header: true },
};

export function benchModel(name: string): BenchModel {
  const data = DATA[name];
  if (!data) throw new Error(`no bench data declared for model ${name}`);
  const dir = path.join(MODELS_DIR, name);
  const config = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as {
    inputs: { name: string; shape: number[] }[];
  };
  const input = config.inputs[0]!;
  const versions = readdirSync(dir).filter((d) => /^[1-9][0-9]*$/.test(d)).map(Number).sort((a, b) => b - a);
  if (versions.length === 0) throw new Error(`${dir} has no version directory (build it: see bench/README.md)`);
  return {
    name,
    inputName: input.name,
    width: input.shape[input.shape.length - 1]!,
    onnxPath: path.join(dir, String(versions[0]), 'model.onnx'),
    dataPath: path.join(MODELS_DIR, data.file),
  };
}

/** Every row of the model's data set, features only (the label column dropped). */
export function loadRows(model: BenchModel): number[][] {
  const raw = readFileSync(model.dataPath);
  const text = model.dataPath.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (DATA[model.name]!.header) lines.shift();
  return lines.map((line) => {
    const values = line.split(',').map(Number);
    if (values.length !== model.width + 1) throw new Error(`${model.dataPath}: expected ${model.width + 1} columns`);
    return values.slice(0, model.width);
  });
}

/** `count` OIP JSON request bodies of `rowsPerRequest` consecutive real rows each. */
export function inferBodies(model: BenchModel, rows: number[][], rowsPerRequest: number, count = 256): string[] {
  const bodies: string[] = [];
  for (let b = 0; b < count; b++) {
    const data: number[] = [];
    for (let r = 0; r < rowsPerRequest; r++) data.push(...rows[(b * rowsPerRequest + r) % rows.length]!);
    bodies.push(
      JSON.stringify({
        id: `bench-${b}`,
        inputs: [{ name: model.inputName, datatype: 'FP32', shape: [rowsPerRequest, model.width], data }],
      }),
    );
  }
  return bodies;
}

/** The same rows as float32 batches for in-process runs: `count` batches of `batch` rows. */
export function rowBatches(rows: number[][], width: number, batch: number, count = 16): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < count; b++) {
    const x = new Float32Array(batch * width);
    for (let r = 0; r < batch; r++) x.set(rows[(b * batch + r) % rows.length]!, r * width);
    out.push(x);
  }
  return out;
}
