// What the retraining job learns from besides its base data: the prediction log's logged inputs
// joined, by request id, with the feedback log's labels (docs/drift.md). Both logs are read with
// their rotated files (PATH.N … PATH.1, then PATH: oldest first), line by line (they may be large),
// and a line that does not parse (a crash can cut the last one) is skipped and counted.
// Only primary answers (shadow copies repeat the same input), code "OK", of the model, whose
// `inputs` hold the model's FP32 [rows, cols] input, whole; the most recent `maxRows` joined rows
// are kept, in log order.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface LoggedData {
  /** Joined rows, oldest first: row-major features and their labels. */
  readonly x: Float64Array;
  readonly y: Int32Array;
  readonly rows: number;
  readonly counts: {
    readonly predictionLines: number;
    readonly feedbackLines: number;
    readonly unparsable: number;
    /** Labels whose request has no logged input (not sampled, rotated away, another model's). */
    readonly labelsWithoutInput: number;
  };
  /** sha256 of the joined rows (features and labels as float64/int32 bytes): the lineage's data hash. */
  readonly sha256: string;
}

export interface LoggedDataOptions {
  readonly predictionLog: string;
  readonly feedbackLog: string;
  readonly model: string;
  readonly inputName: string;
  readonly cols: number;
  readonly classCount: number;
  readonly maxRows?: number;
}

/** PATH and its rotated files that exist, oldest first. */
export function rotatedFiles(file: string): string[] {
  const older: string[] = [];
  for (let i = 1; existsSync(`${file}.${i}`); i++) older.unshift(`${file}.${i}`);
  return existsSync(file) ? [...older, file] : older;
}

async function eachLine(file: string, onLine: (line: string) => void): Promise<void> {
  for (const f of rotatedFiles(file)) {
    const lines = createInterface({ input: createReadStream(f, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) if (line !== '') onLine(line);
  }
}

export async function readLoggedData(o: LoggedDataOptions): Promise<LoggedData> {
  let unparsable = 0;
  let feedbackLines = 0;
  const labels = new Map<string, number[]>();
  await eachLine(o.feedbackLog, (line) => {
    feedbackLines++;
    try {
      const r = JSON.parse(line) as { model?: unknown; id?: unknown; label?: unknown };
      if (r.model !== o.model || typeof r.id !== 'string' || !Array.isArray(r.label)) return;
      if (r.label.every((l) => Number.isInteger(l) && l >= 0 && l < o.classCount)) labels.set(r.id, r.label as number[]);
    } catch {
      unparsable++;
    }
  });
  const maxRows = o.maxRows ?? 50_000;
  const rowsX: Float64Array[] = [];
  const rowsY: number[] = [];
  const joined = new Set<string>();
  let predictionLines = 0;
  await eachLine(o.predictionLog, (line) => {
    predictionLines++;
    let r: { model?: unknown; id?: unknown; shadow?: unknown; code?: unknown; inputs?: { name: string; datatype: string; shape: number[]; data: number[]; truncated: boolean }[] };
    try {
      r = JSON.parse(line);
    } catch {
      unparsable++;
      return;
    }
    if (r.model !== o.model || r.shadow !== false || r.code !== 'OK' || typeof r.id !== 'string') return;
    const truth = labels.get(r.id);
    const t = r.inputs?.find((i) => i.name === o.inputName);
    if (truth === undefined || t === undefined || t.truncated || t.datatype !== 'FP32' || t.shape.length !== 2 || t.shape[1] !== o.cols) return;
    if (t.shape[0] !== truth.length || t.data.length !== truth.length * o.cols || !t.data.every((v) => typeof v === 'number')) return;
    joined.add(r.id);
    for (let i = 0; i < truth.length; i++) {
      rowsX.push(Float64Array.from(t.data.slice(i * o.cols, (i + 1) * o.cols)));
      rowsY.push(truth[i]!);
    }
    // Bounded: the oldest rows go first.
    if (rowsX.length > 2 * maxRows) rowsX.splice(0, rowsX.length - maxRows), rowsY.splice(0, rowsY.length - maxRows);
  });
  if (rowsX.length > maxRows) rowsX.splice(0, rowsX.length - maxRows), rowsY.splice(0, rowsY.length - maxRows);
  const rows = rowsX.length;
  const x = new Float64Array(rows * o.cols);
  rowsX.forEach((row, i) => x.set(row, i * o.cols));
  const y = Int32Array.from(rowsY);
  const sha256 = createHash('sha256').update(new Uint8Array(x.buffer)).update(new Uint8Array(y.buffer)).digest('hex');
  return { x, y, rows, counts: { predictionLines, feedbackLines, unparsable, labelsWithoutInput: labels.size - joined.size }, sha256 };
}
