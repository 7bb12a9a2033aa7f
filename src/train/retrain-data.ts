// What the retraining job learns from besides its base data: the prediction log's logged inputs
// joined, by request id, with the feedback log's labels (docs/drift.md).
//
// Contracts:
// - Both logs are read with their rotated files (PATH.N … PATH.1, then PATH: oldest first), line
//   by line (they may be hundreds of MB). All files are opened before any is read (openRotated), so
//   a rotation while the job starts makes no file be read twice or missed (one deleted as beyond
//   the log's `keep` aside); lines written after the live file was read to its end are not read.
// - A line that does not parse (a crash can cut the last one) is skipped and counted.
// - Only primary answers (shadow copies repeat the same input), code "OK", of the model, whose
//   `inputs` hold the model's FP32 [rows, cols] input whole (not truncated, no redacted nulls), and
//   whose feedback has one label per row, are joined. One request id joins once (the first logged
//   answer): a reused id cannot say which answer its label was for.
// - Memory: the feedback labels (one small entry per labelled request of the model) and at most
//   `maxRows` joined rows, the most recent, kept in log order in a ring.
import { createHash } from 'node:crypto';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Joined rows kept by default: the most recent 50,000 (~12 MB of float64 for 30 features). */
export const DEFAULT_MAX_LOGGED_ROWS = 50_000;

export interface LoggedData {
  /** Joined rows, oldest first: row-major features and their labels. */
  readonly x: Float64Array;
  readonly y: Int32Array;
  readonly rows: number;
  readonly counts: {
    readonly predictionLines: number;
    readonly feedbackLines: number;
    /** Lines of either log that are not JSON. */
    readonly unparsable: number;
    /** Labels whose request has no logged input (not sampled, rotated away, truncated, rows ≠ labels). */
    readonly labelsWithoutInput: number;
    /** Joined rows older than the `maxRows` most recent, not kept. */
    readonly droppedRows: number;
  };
  /**
   * sha256 (hex) of the kept rows: x as float64 then y as int32, both little-endian, row-major.
   * The lineage's data hash: the same rows give the same hash on any machine.
   */
  readonly sha256: string;
}

export interface LoggedDataOptions {
  readonly predictionLog: string;
  readonly feedbackLog: string;
  readonly model: string;
  readonly inputName: string;
  readonly cols: number;
  readonly classCount: number;
  /** At most this many joined rows, the most recent (default DEFAULT_MAX_LOGGED_ROWS). */
  readonly maxRows?: number;
}

interface LoggedTensor {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  truncated?: unknown;
}

/**
 * Opens PATH and every PATH.N there is, newest first, drops a file already opened under another
 * name, and returns the handles oldest first. Newest first because rotation renames towards higher
 * numbers (the highest first: a rotation in progress leaves a gap, so a missing name does not end
 * the list): a file can move to a name not yet opened (then it is seen twice, and deduplicated by
 * inode) but never to one already passed. The directory is listed again past the highest number.
 */
export async function openRotated(file: string): Promise<FileHandle[]> {
  const handles: FileHandle[] = [];
  const seen = new Set<string>();
  try {
    let highest = await highestRotated(file);
    for (let i = 0; ; i++) {
      if (i > highest && (highest = await highestRotated(file)) < i) break;
      let h: FileHandle;
      try {
        h = await open(i === 0 ? file : `${file}.${i}`, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const st = await h.stat();
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) await h.close();
      else seen.add(key), handles.push(h);
    }
  } catch (err) {
    await Promise.all(handles.map((h) => h.close()));
    throw err;
  }
  return handles.reverse();
}

/** The highest N of the PATH.N files in PATH's directory; 0 when there is none. */
async function highestRotated(file: string): Promise<number> {
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(path.dirname(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let highest = 0;
  for (const f of names) {
    const n = f.startsWith(`${base}.`) ? Number(f.slice(base.length + 1)) : NaN;
    if (Number.isSafeInteger(n) && n > highest) highest = n;
  }
  return highest;
}

async function eachLine(file: string, onLine: (line: string) => void): Promise<void> {
  const handles = await openRotated(file);
  try {
    for (const h of handles) {
      const lines = createInterface({ input: h.createReadStream({ encoding: 'utf8', autoClose: false }), crlfDelay: Infinity });
      for await (const line of lines) if (line.trim() !== '') onLine(line);
    }
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** The most recent `max` rows of `cols` features and a label, growing by doubling up to `max`. */
class RowRing {
  private x = new Float64Array(0);
  private y = new Int32Array(0);
  private next = 0;
  size = 0;
  dropped = 0;
  constructor(private readonly max: number, private readonly cols: number) {}

  push(values: readonly number[], from: number, label: number): void {
    if (this.size < this.max && this.size === this.y.length) this.grow(Math.min(this.max, Math.max(1024, this.size * 2)));
    const at = this.next;
    for (let c = 0; c < this.cols; c++) this.x[at * this.cols + c] = values[from + c]!;
    this.y[at] = label;
    this.next = (at + 1) % this.max;
    if (this.size < this.max) this.size++;
    else this.dropped++;
  }

  /** The rows oldest first, as fresh arrays. */
  ordered(): { x: Float64Array; y: Int32Array } {
    const start = this.size < this.max ? 0 : this.next;
    const x = new Float64Array(this.size * this.cols);
    const y = new Int32Array(this.size);
    const head = this.size - start; // rows from `start` to the end of the storage
    x.set(this.x.subarray(start * this.cols, this.size * this.cols), 0);
    x.set(this.x.subarray(0, start * this.cols), head * this.cols);
    y.set(this.y.subarray(start, this.size), 0);
    y.set(this.y.subarray(0, start), head);
    return { x, y };
  }

  private grow(capacity: number): void {
    const x = new Float64Array(capacity * this.cols);
    const y = new Int32Array(capacity);
    x.set(this.x);
    y.set(this.y);
    this.x = x;
    this.y = y;
  }
}

export async function readLoggedData(o: LoggedDataOptions): Promise<LoggedData> {
  const maxRows = o.maxRows ?? DEFAULT_MAX_LOGGED_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
  let unparsable = 0;
  let feedbackLines = 0;
  // One label is stored as a number: most requests are one row, and this map is the job's largest.
  const labels = new Map<string, number | number[]>();
  await eachLine(o.feedbackLog, (line) => {
    feedbackLines++;
    let r: { model?: unknown; id?: unknown; label?: unknown };
    try {
      r = JSON.parse(line);
    } catch {
      unparsable++;
      return;
    }
    if (r === null || typeof r !== 'object' || r.model !== o.model || typeof r.id !== 'string' || !Array.isArray(r.label) || r.label.length === 0) return;
    const classes = r.label as unknown[];
    if (!classes.every((l) => Number.isInteger(l) && (l as number) >= 0 && (l as number) < o.classCount)) return;
    // A later label for the same id replaces the earlier one (a correction).
    labels.set(r.id, classes.length === 1 ? (classes[0] as number) : (classes as number[]));
  });

  const ring = new RowRing(maxRows, o.cols);
  const joined = new Set<string>();
  let predictionLines = 0;
  await eachLine(o.predictionLog, (line) => {
    predictionLines++;
    let r: { model?: unknown; id?: unknown; shadow?: unknown; code?: unknown; inputs?: unknown };
    try {
      r = JSON.parse(line);
    } catch {
      unparsable++;
      return;
    }
    if (r === null || typeof r !== 'object' || r.model !== o.model || r.shadow !== false || r.code !== 'OK' || typeof r.id !== 'string') return;
    const truth = labels.get(r.id);
    if (truth === undefined || joined.has(r.id) || !Array.isArray(r.inputs)) return;
    const t = (r.inputs as LoggedTensor[]).find((i) => i !== null && typeof i === 'object' && i.name === o.inputName);
    const rows = typeof truth === 'number' ? 1 : truth.length;
    if (t === undefined || !wholeInput(t, rows, o.cols)) return;
    joined.add(r.id);
    const data = t.data as number[];
    for (let i = 0; i < rows; i++) ring.push(data, i * o.cols, typeof truth === 'number' ? truth : truth[i]!);
  });

  const { x, y } = ring.ordered();
  return {
    x,
    y,
    rows: ring.size,
    counts: { predictionLines, feedbackLines, unparsable, labelsWithoutInput: labels.size - joined.size, droppedRows: ring.dropped },
    sha256: rowsSha256(x, y),
  };
}

/** A logged FP32 [rows, cols] tensor with every value present and finite. */
function wholeInput(t: LoggedTensor, rows: number, cols: number): boolean {
  if (t.truncated !== false || t.datatype !== 'FP32' || !Array.isArray(t.shape) || t.shape.length !== 2) return false;
  if (t.shape[0] !== rows || t.shape[1] !== cols || !Array.isArray(t.data) || t.data.length !== rows * cols) return false;
  return (t.data as unknown[]).every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** The canonical hash of joined rows (LoggedData.sha256). */
export function rowsSha256(x: Float64Array, y: Int32Array): string {
  const bx = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  const by = Buffer.from(y.buffer, y.byteOffset, y.byteLength);
  if (endianness() === 'BE') return createHash('sha256').update(Buffer.from(bx).swap64()).update(Buffer.from(by).swap32()).digest('hex');
  return createHash('sha256').update(bx).update(by).digest('hex');
}
