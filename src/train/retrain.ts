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
//   A crash between the two leaves a shadow naming a missing version, which routing skips.
// - The current primary is routing.json's `primary`, else the highest version with a model.onnx
//   (the gateway's default). The new version is one above every numbered directory, complete or
//   not, and every version routing.json names: the job never writes into a directory it did not
//   create, and a stale routing entry (a rollback target, a shadow) never names the new version.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { rawFeatureNet, trainClassifier } from './classifier.js';
import { loadCsvDataset, type Dataset } from './dataset.js';
import { accuracy, argmaxRows, predictProba, roundToFloat32 } from './dense.js';
import { encodeDenseNet } from './export-onnx.js';
import { writeVersionDir } from './files.js';
import { formatJson } from './json.js';
import { buildRetrainLineageMeta, FRAMEWORK, type RetrainLineageMeta } from './meta.js';
import { META_FILE, MODEL_FILE, REFERENCE_FILE } from './pipeline.js';
import { buildReferenceProfile } from './reference.js';
import { readLoggedData, type LoggedData } from './retrain-data.js';
import { MODEL_SPECS, type ModelSpec } from './specs.js';

/** routing.json as the job reads and writes it (declared here structurally: train/ imports no other engine). */
export interface RetrainRouting {
  readonly primary?: number;
  readonly previousPrimary?: number;
  readonly shadows: readonly { readonly version: number; readonly percent: number }[];
}

/**
 * A model directory's routing.json, injected by the process entry (retrain-cli.ts wires
 * routing/table-file.ts's `routingFiles`).
 */
export interface RoutingFiles {
  /** Most shadows one model may mirror to. */
  readonly maxShadows: number;
  /** The stored routing; no file: no primary, no shadows. Throws on a file the gateway would refuse. */
  read(modelDir: string): RetrainRouting;
  /** Checks `routing` as the gateway will read it, then replaces the file atomically. */
  write(modelDir: string, routing: RetrainRouting): Promise<void>;
}

export interface RetrainOptions {
  readonly routingFiles: RoutingFiles;
  readonly modelsDir: string;
  readonly model: string;
  readonly predictionLog: string;
  readonly feedbackLog: string;
  readonly shadowPercent?: number;
  readonly holdoutShare?: number;
  readonly minLabeledRows?: number;
  /** Joined log rows kept, the most recent (retrain-data.ts; default 50,000). */
  readonly maxLoggedRows?: number;
  readonly created: string;
  readonly codeVersion: string;
  /** The retrain event that started the job (lineage), when there was one. */
  readonly trigger?: unknown;
  /** Do everything but write: the result says what would have been written (dir null). */
  readonly dryRun?: boolean;
  /** Progress, one human line at a time (default: none). */
  say?(line: string): void;
}

export interface RetrainResult {
  readonly ok: boolean;
  /** Why nothing was written, when !ok. */
  readonly reason?: string;
  readonly version: number;
  readonly parentVersion: number;
  readonly holdoutAccuracy: number | null;
  readonly parentHoldoutAccuracy: number | null;
  /** base rows, joined logged rows, training rows (base + weighted older logged), holdout rows, the weight. */
  readonly rows: { readonly base: number; readonly logged: number; readonly train: number; readonly holdout: number; readonly recentWeight: number };
  /** What reading the logs found (retrain-data.ts). */
  readonly logs: LoggedData['counts'];
  /** The version directory written; null when refused or a dry run. */
  readonly dir: string | null;
}

/** The new reference profiles the most recent max(this, holdout) live rows when there are that many; else the training set. */
const MIN_PROFILE_ROWS = 200;

export async function retrainModel(o: RetrainOptions): Promise<RetrainResult> {
  checkOptions(o);
  const say = o.say ?? ((): void => {});
  const spec = MODEL_SPECS.find((s) => s.name === o.model);
  if (spec === undefined) throw new Error(`no trainer for model "${o.model}" (known: ${MODEL_SPECS.map((s) => s.name).join(', ')})`);
  const modelDir = path.join(o.modelsDir, o.model);
  const file = JSON.parse(readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as { retrain?: { shadowPercent?: number; baseData?: string } };
  const numbered = readdirSync(modelDir).filter((d) => /^[1-9][0-9]*$/.test(d)).map(Number).sort((a, b) => a - b);
  const complete = numbered.filter((v) => existsSync(path.join(modelDir, String(v), MODEL_FILE)));
  if (complete.length === 0) throw new Error(`${modelDir} has no version with a ${MODEL_FILE}`);
  const routing = o.routingFiles.read(modelDir);
  const parent = routing.primary ?? complete.at(-1)!;
  const routed = [routing.primary ?? 0, routing.previousPrimary ?? 0, ...routing.shadows.map((s) => s.version)];
  const version = Math.max(numbered.at(-1)!, ...routed) + 1;
  const percent = o.shadowPercent ?? file.retrain?.shadowPercent ?? 100;
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) throw new Error(`${modelDir}/model.json retrain.shadowPercent must be a share from 0 to 100, got ${JSON.stringify(percent)}`);
  const parentModel = path.join(modelDir, String(parent), MODEL_FILE);
  if (!existsSync(parentModel)) throw new Error(`the primary, version ${parent} (routing.json), has no ${parentModel}`);

  const basePath = path.resolve(modelDir, file.retrain?.baseData ?? path.join('data', path.basename(spec.dataPath)));
  const { dataset: base, sha256: baseSha256 } = loadCsvDataset(basePath, spec.format);
  const logged = await readLoggedData({
    predictionLog: o.predictionLog,
    feedbackLog: o.feedbackLog,
    model: o.model,
    inputName: spec.inputName,
    cols: spec.format.cols,
    classCount: spec.format.classCount,
    ...(o.maxLoggedRows === undefined ? {} : { maxRows: o.maxLoggedRows }),
  });
  say(`read ${base.rows} base rows (${basePath}); ${logged.rows} labelled live rows from ${logged.counts.predictionLines} prediction and ${logged.counts.feedbackLines} feedback lines (${logged.counts.unparsable} unparsable, ${logged.counts.labelsWithoutInput} labels without a logged input)`);

  const holdoutRows = Math.floor(logged.rows * (o.holdoutShare ?? 0.25));
  const trainLogged = logged.rows - holdoutRows;
  const recentWeight = trainLogged === 0 ? 0 : Math.max(1, Math.round(base.rows / trainLogged));
  const rows = { base: base.rows, logged: logged.rows, train: base.rows + trainLogged * recentWeight, holdout: holdoutRows, recentWeight };
  const refuse = (reason: string, acc: number | null = null, parentAcc: number | null = null): RetrainResult => {
    say(`refused: ${reason}; nothing written`);
    return { ok: false, reason, version, parentVersion: parent, holdoutAccuracy: acc, parentHoldoutAccuracy: parentAcc, rows, logs: logged.counts, dir: null };
  };
  const minLabeled = o.minLabeledRows ?? 50;
  if (logged.rows < minLabeled) return refuse(`${logged.rows} labelled live rows, at least ${minLabeled} needed`);
  if (holdoutRows === 0) return refuse(`${logged.rows} labelled live rows leave no holdout rows at a holdout share of ${o.holdoutShare ?? 0.25}`);

  // Train on the base data and the older live rows, each live row `recentWeight` times: the job
  // runs because live data drifted, so the live rows must weigh as much as the base data.
  const train = concat([base, ...new Array<Dataset>(recentWeight).fill(rowsOf(logged, 0, trainLogged, spec))]);
  const holdout = rowsOf(logged, trainLogged, logged.rows, spec);
  const net = roundToFloat32(rawFeatureNet(trainClassifier(spec.classifier, train)));
  const onnx = encodeDenseNet(net, { inputName: spec.inputName, graphName: spec.name, producerName: FRAMEWORK, producerVersion: o.codeVersion, docString: spec.description });
  const acc = await onnxAccuracy(onnx, holdout, spec);
  const parentAcc = await onnxAccuracy(readFileSync(parentModel), holdout, spec);
  say(`on the ${holdoutRows} most recent labelled rows (held out): candidate version ${version} accuracy ${acc.toFixed(4)}, primary version ${parent} ${parentAcc.toFixed(4)}`);
  if (acc < parentAcc) return refuse(`candidate accuracy ${acc.toFixed(4)} < primary's ${parentAcc.toFixed(4)} on the held-out rows`, acc, parentAcc);

  // The most recent live rows: the distribution the new version is about to serve.
  const recent = Math.max(MIN_PROFILE_ROWS, holdoutRows);
  const profiled = logged.rows >= recent ? rowsOf(logged, logged.rows - recent, logged.rows, spec) : train;
  const probabilities = predictProba(net, profiled.x, profiled.rows);
  const reference = buildReferenceProfile({ data: profiled, featureNames: spec.featureNames, classNames: spec.classNames, probabilities, labels: argmaxRows(probabilities, profiled.rows, profiled.classCount) });
  const trainProba = predictProba(net, train.x, train.rows);
  const meta = lineage({ o, spec, version, parent, onnx, logged, baseSha256, basePath, rows, acc, parentAcc, trainAccuracy: accuracy(argmaxRows(trainProba, train.rows, train.classCount), train.y) });
  const dir = path.join(modelDir, String(version));
  const done = { ok: true, version, parentVersion: parent, holdoutAccuracy: acc, parentHoldoutAccuracy: parentAcc, rows, logs: logged.counts };
  if (o.dryRun) {
    say(`dry run: would write ${dir} and register version ${version} as a shadow of version ${parent}`);
    return { ...done, dir: null };
  }

  const shadows = [...routing.shadows.filter((s) => s.version !== version), { version, percent }].slice(-o.routingFiles.maxShadows);
  await o.routingFiles.write(modelDir, { primary: parent, shadows, ...(routing.previousPrimary === undefined ? {} : { previousPrimary: routing.previousPrimary }) });
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
  writeVersionDir(dir, new Map([[MODEL_FILE, onnx], [REFERENCE_FILE, utf8(formatJson(reference))], [META_FILE, utf8(formatJson(meta))]]));
  say(`wrote ${dir} and registered version ${version} as a shadow of version ${parent} at ${percent}%`);
  return { ...done, dir };
}

/** Options a caller other than the CLI (which checks its flags) could get wrong: refused early. */
function checkOptions(o: RetrainOptions): void {
  const bad = (name: string, value: unknown, want: string): never => {
    throw new RangeError(`${name} must be ${want}, got ${String(value)}`);
  };
  if (o.shadowPercent !== undefined && !(o.shadowPercent >= 0 && o.shadowPercent <= 100)) bad('shadowPercent', o.shadowPercent, 'a share from 0 to 100');
  if (o.holdoutShare !== undefined && !(o.holdoutShare > 0 && o.holdoutShare < 1)) bad('holdoutShare', o.holdoutShare, 'a share in (0, 1)');
  if (o.minLabeledRows !== undefined && !(Number.isInteger(o.minLabeledRows) && o.minLabeledRows >= 1)) bad('minLabeledRows', o.minLabeledRows, 'a positive integer');
  if (o.maxLoggedRows !== undefined && !(Number.isInteger(o.maxLoggedRows) && o.maxLoggedRows >= 1)) bad('maxLoggedRows', o.maxLoggedRows, 'a positive integer');
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
function lineage(f: LineageFacts): RetrainLineageMeta {
  const { o, spec, rows } = f;
  return buildRetrainLineageMeta({
    name: spec.name,
    version: f.version,
    created: o.created,
    codeVersion: o.codeVersion,
    classifier: spec.classifier,
    // Relative to the models directory, POSIX separators (as specs.ts records dataPath).
    trainingData: { path: path.relative(o.modelsDir, f.basePath).split(path.sep).join('/'), sha256: f.baseSha256, rows: rows.base },
    logged: { predictionLog: o.predictionLog, feedbackLog: o.feedbackLog, sha256: f.logged.sha256, rows: rows.logged, trainRows: rows.logged - rows.holdout, holdoutRows: rows.holdout, recentWeight: rows.recentWeight },
    trainAccuracy: f.trainAccuracy,
    holdoutAccuracy: f.acc,
    parentHoldoutAccuracy: f.parentAcc,
    referenceAccuracy: spec.referenceAccuracy,
    modelSha256: createHash('sha256').update(f.onnx).digest('hex'),
    parentVersion: f.parent,
    ...(o.trigger === undefined ? {} : { trigger: o.trigger }),
  });
}
