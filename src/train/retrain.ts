// The reference retraining job (DESIGN §8, docs/drift.md): base data plus the logged, labelled live
// rows → a candidate version, checked on the most recent labelled rows against the current primary,
// written as the next version with its reference profile and lineage, and registered as a shadow.
//
// Contracts:
// - Nothing is written unless the candidate is at least as accurate as the primary on the held-out
//   recent rows (both run by ONNX Runtime from their model files), with at least minLabeledRows rows.
// - routing.json first, naming the current primary explicitly and adding the new version as a
//   shadow; then the version directory, atomically (files.ts). The repository's default primary is
//   the newest version, so the other order could make an unchecked version primary for a scan.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { MAX_SHADOWS, parseRouting, routingFileText, writeFileAtomic, type StoredRouting } from '../routing/table-file.js';
import { rawFeatureNet, trainClassifier } from './classifier.js';
import { loadCsvDataset, type Dataset } from './dataset.js';
import { accuracy, argmaxRows, predictProba, roundToFloat32 } from './dense.js';
import { encodeDenseNet } from './export-onnx.js';
import { writeVersionDir } from './files.js';
import { formatJson } from './json.js';
import { buildLineageMeta, FRAMEWORK } from './meta.js';
import { META_FILE, MODEL_FILE, REFERENCE_FILE } from './pipeline.js';
import { buildReferenceProfile } from './reference.js';
import { readLoggedData, type LoggedData } from './retrain-data.js';
import { MODEL_SPECS, type ModelSpec } from './specs.js';

export interface RetrainOptions {
  readonly modelsDir: string;
  readonly model: string;
  readonly predictionLog: string;
  readonly feedbackLog: string;
  readonly shadowPercent?: number;
  readonly holdoutShare?: number;
  readonly minLabeledRows?: number;
  readonly created: string;
  readonly codeVersion: string;
  /** The retrain event that started the job (lineage), when there was one. */
  readonly trigger?: unknown;
  readonly dryRun?: boolean;
  say(line: string): void;
}

export interface RetrainResult {
  readonly ok: boolean;
  /** Why nothing was written, when !ok. */
  readonly reason?: string;
  readonly version: number;
  readonly parentVersion: number;
  readonly holdoutAccuracy: number | null;
  readonly parentHoldoutAccuracy: number | null;
  readonly rows: { readonly base: number; readonly logged: number; readonly train: number; readonly holdout: number; readonly recentWeight: number };
  readonly dir: string | null;
}

/** The new reference profiles the most recent max(this, holdout) live rows when there are that many; else the training set. */
const MIN_PROFILE_ROWS = 200;

export async function retrainModel(o: RetrainOptions): Promise<RetrainResult> {
  const spec = MODEL_SPECS.find((s) => s.name === o.model);
  if (spec === undefined) throw new Error(`no trainer for model "${o.model}" (known: ${MODEL_SPECS.map((s) => s.name).join(', ')})`);
  const modelDir = path.join(o.modelsDir, o.model);
  const file = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as { retrain?: { shadowPercent?: number; baseData?: string } };
  const versions = readdirSync(modelDir).filter((d) => /^[1-9][0-9]*$/.test(d) && existsSync(path.join(modelDir, d, MODEL_FILE))).map(Number).sort((a, b) => a - b);
  if (versions.length === 0) throw new Error(`${modelDir} has no version with a ${MODEL_FILE}`);
  const routing = readRouting(modelDir);
  const parent = routing.primary ?? versions.at(-1)!;
  const version = versions.at(-1)! + 1;

  const basePath = path.join(modelDir, file.retrain?.baseData ?? path.join('data', path.basename(spec.dataPath)));
  const { dataset: base, sha256: baseSha256 } = loadCsvDataset(basePath, spec.format);
  const logged = await readLoggedData({ predictionLog: o.predictionLog, feedbackLog: o.feedbackLog, model: o.model, inputName: spec.inputName, cols: spec.format.cols, classCount: spec.format.classCount });
  o.say(`read ${base.rows} base rows (${basePath}); ${logged.rows} labelled live rows from ${logged.counts.predictionLines} prediction and ${logged.counts.feedbackLines} feedback lines (${logged.counts.unparsable} unparsable, ${logged.counts.labelsWithoutInput} labels without a logged input)`);

  const holdoutRows = Math.floor(logged.rows * (o.holdoutShare ?? 0.25));
  const trainLogged = logged.rows - holdoutRows;
  const recentWeight = trainLogged === 0 ? 0 : Math.max(1, Math.round(base.rows / trainLogged));
  const rows = { base: base.rows, logged: logged.rows, train: base.rows + trainLogged * recentWeight, holdout: holdoutRows, recentWeight };
  const refuse = (reason: string, acc: number | null = null, parentAcc: number | null = null): RetrainResult => {
    o.say(`refused: ${reason}; nothing written`);
    return { ok: false, reason, version, parentVersion: parent, holdoutAccuracy: acc, parentHoldoutAccuracy: parentAcc, rows, dir: null };
  };
  const minLabeled = o.minLabeledRows ?? 50;
  if (logged.rows < minLabeled || holdoutRows === 0) return refuse(`${logged.rows} labelled live rows, at least ${minLabeled} needed`);

  // Train on the base data and the older live rows, each live row `recentWeight` times: the job
  // runs because live data drifted, so the live rows must weigh as much as the base data.
  const train = concat([base, ...new Array<Dataset>(recentWeight).fill(rowsOf(logged, 0, trainLogged, spec))]);
  const holdout = rowsOf(logged, trainLogged, logged.rows, spec);
  const net = roundToFloat32(rawFeatureNet(trainClassifier(spec.classifier, train)));
  const onnx = encodeDenseNet(net, { inputName: spec.inputName, graphName: spec.name, producerName: FRAMEWORK, producerVersion: o.codeVersion, docString: spec.description });
  const acc = await onnxAccuracy(onnx, holdout, spec);
  const parentAcc = await onnxAccuracy(readFileSync(path.join(modelDir, String(parent), MODEL_FILE)), holdout, spec);
  o.say(`on the ${holdoutRows} most recent labelled rows (held out): candidate version ${version} accuracy ${acc.toFixed(4)}, primary version ${parent} ${parentAcc.toFixed(4)}`);
  if (acc < parentAcc) return refuse(`candidate accuracy ${acc.toFixed(4)} < primary's ${parentAcc.toFixed(4)} on the held-out rows`, acc, parentAcc);

  // The most recent live rows: the distribution the new version is about to serve.
  const recent = Math.max(MIN_PROFILE_ROWS, holdoutRows);
  const profiled = logged.rows >= recent ? rowsOf(logged, logged.rows - recent, logged.rows, spec) : train;
  const probabilities = predictProba(net, profiled.x, profiled.rows);
  const reference = buildReferenceProfile({ data: profiled, featureNames: spec.featureNames, classNames: spec.classNames, probabilities, labels: argmaxRows(probabilities, profiled.rows, profiled.classCount) });
  const trainProba = predictProba(net, train.x, train.rows);
  const meta = lineage({ o, spec, version, parent, onnx, logged, baseSha256, basePath, rows, acc, parentAcc, trainAccuracy: accuracy(argmaxRows(trainProba, train.rows, train.classCount), train.y) });
  const dir = path.join(modelDir, String(version));
  if (o.dryRun) return { ok: true, version, parentVersion: parent, holdoutAccuracy: acc, parentHoldoutAccuracy: parentAcc, rows, dir: null };

  const percent = o.shadowPercent ?? file.retrain?.shadowPercent ?? 100;
  const shadows = [...routing.shadows.filter((s) => s.version !== version), { version, percent }].slice(-MAX_SHADOWS);
  const next: StoredRouting = { primary: parent, shadows, ...(routing.previousPrimary === undefined ? {} : { previousPrimary: routing.previousPrimary }) };
  await writeFileAtomic(path.join(modelDir, 'routing.json'), routingFileText(next));
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  writeVersionDir(dir, new Map([[MODEL_FILE, onnx], [REFERENCE_FILE, utf8(formatJson(reference))], [META_FILE, utf8(formatJson(meta))]]));
  o.say(`wrote ${dir} and registered version ${version} as a shadow of version ${parent} at ${percent}%`);
  return { ok: true, version, parentVersion: parent, holdoutAccuracy: acc, parentHoldoutAccuracy: parentAcc, rows, dir };
}

function readRouting(modelDir: string): StoredRouting {
  const file = path.join(modelDir, 'routing.json');
  return existsSync(file) ? parseRouting(JSON.parse(readFileSync(file, 'utf8'))) : { shadows: [] };
}

function rowsOf(d: LoggedData, from: number, to: number, spec: ModelSpec): Dataset {
  const cols = spec.format.cols;
  return { x: d.x.slice(from * cols, to * cols), y: d.y.slice(from, to), rows: to - from, cols, classCount: spec.format.classCount };
}

function concat(parts: readonly Dataset[]): Dataset {
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const { cols, classCount } = parts[0]!;
  const x = new Float64Array(rows * cols);
  const y = new Int32Array(rows);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * cols);
    y.set(p.y, at);
    at += p.rows;
  }
  return { x, y, rows, cols, classCount };
}

/** Accuracy of an ONNX classifier on `d`: its `label` output, else the argmax of `probabilities`. */
async function onnxAccuracy(model: Uint8Array, d: Dataset, spec: ModelSpec): Promise<number> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ [spec.inputName]: new ort.Tensor('float32', Float32Array.from(d.x), [d.rows, d.cols]) });
    const label = out.label?.data as BigInt64Array | undefined;
    const predicted = label ? Int32Array.from(label, Number) : argmaxRows(out.probabilities!.data as Float32Array, d.rows, d.classCount);
    return accuracy(predicted, d.y);
  } finally {
    await session.release();
  }
}

interface LineageFacts {
  o: RetrainOptions;
  spec: ModelSpec;
  version: number;
  parent: number;
  onnx: Uint8Array;
  logged: LoggedData;
  baseSha256: string;
  basePath: string;
  rows: RetrainResult['rows'];
  acc: number;
  parentAcc: number;
  trainAccuracy: number;
}

/** meta.json of a retrained version: the trainer's lineage, with both data sources and the holdout check. */
function lineage(f: LineageFacts): Record<string, unknown> {
  const { o, spec, rows } = f;
  const base = buildLineageMeta({
    name: spec.name,
    version: f.version,
    created: o.created,
    codeVersion: o.codeVersion,
    classifier: spec.classifier,
    trainingData: { path: path.relative(o.modelsDir, f.basePath), sha256: f.baseSha256, rows: rows.base },
    cvAccuracy: f.acc,
    cvFoldAccuracies: [],
    trainAccuracy: f.trainAccuracy,
    referenceAccuracy: spec.referenceAccuracy,
    modelSha256: createHash('sha256').update(f.onnx).digest('hex'),
    parentVersion: f.parent,
  });
  const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
  return {
    ...base,
    trainingData: {
      base: base.trainingData,
      logged: { predictionLog: o.predictionLog, feedbackLog: o.feedbackLog, sha256: f.logged.sha256, rows: rows.logged, trainRows: rows.logged - rows.holdout, holdoutRows: rows.holdout, recentWeight: rows.recentWeight },
    },
    metrics: { holdoutAccuracy: round6(f.acc), parentHoldoutAccuracy: round6(f.parentAcc), holdoutRows: rows.holdout, trainAccuracy: base.metrics.trainAccuracy },
    ...(o.trigger === undefined ? {} : { trigger: o.trigger }),
  };
}
