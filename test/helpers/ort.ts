// Direct onnxruntime-node runs: the reference answers the gateway must reproduce.
import * as ort from 'onnxruntime-node';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODELS } from './gateway.js';

export async function directRun(modelPath: string, inputName: string, rows: number[][]) {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  const width = rows[0]!.length;
  const out: { probabilities: number[]; label: number }[] = [];
  for (const row of rows) {
    const r = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(row), [1, width]) });
    out.push({ probabilities: Array.from(r.probabilities!.data as Float32Array), label: Number((r.label!.data as BigInt64Array)[0]) });
  }
  await session.release();
  return out;
}

/** Real rows of the digits data set (64 pixels each, without the label). */
export function digitsRows(n: number): number[][] {
  const text = gunzipSync(readFileSync(path.join(MODELS, 'digits/data/digits.csv.gz'))).toString('utf8');
  return text.trim().split('\n').slice(0, n).map((l) => l.split(',').slice(0, 64).map(Number));
}

/** Real rows of the breast cancer data set (30 features each). */
export function breastRows(n: number): number[][] {
  const text = readFileSync(path.join(MODELS, 'breast-cancer/data/breast_cancer.csv'), 'utf8');
  return text.trim().split('\n').slice(1, n + 1).map((l) => l.split(',').slice(0, 30).map(Number));
}
