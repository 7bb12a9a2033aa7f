// Loading a tabular training set: CSV, optionally gzip'd, one sample a line, features then
// an integer class label in the last column. Everything is validated here so the trainers
// can assume a dense, finite matrix.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A dense data set. `x` is row-major, rows × cols; `y[r]` in [0, classCount). */
export interface Dataset {
  readonly x: Float64Array;
  readonly y: Int32Array;
  readonly rows: number;
  readonly cols: number;
  readonly classCount: number;
}

export interface CsvFormat {
  /** Number of feature columns; each line has cols + 1 values. */
  cols: number;
  /** Number of classes; labels must be integers in [0, classCount). */
  classCount: number;
  /**
   * When true the first line is `<rows>,<cols>,<class names...>` (the UCI/scikit-learn
   * layout) and is checked against the body and against `cols`.
   */
  header: boolean;
}

export interface LoadedDataset {
  dataset: Dataset;
  /** sha256 (hex) of the file's bytes as stored, compressed or not: the lineage hash. */
  sha256: string;
}

/** Reads `path`; a name ending in `.gz` is gunzipped first. Throws on any malformed line. */
export function loadCsvDataset(path: string, format: CsvFormat): LoadedDataset {
  const raw = readFileSync(path);
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  return { dataset: parseCsvDataset(text, format, path), sha256 };
}

/** Parses CSV text; `source` only names the input in error messages. */
export function parseCsvDataset(text: string, format: CsvFormat, source = 'csv'): Dataset {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  let declaredRows: number | undefined;
  if (format.header) {
    const head = (lines.shift() ?? '').split(',');
    declaredRows = Number(head[0]);
    if (Number(head[1]) !== format.cols) {
      throw new Error(`${source}: header declares ${head[1]} features, expected ${format.cols}`);
    }
  }
  const rows = lines.length;
  if (declaredRows !== undefined && declaredRows !== rows) {
    throw new Error(`${source}: header declares ${declaredRows} rows, found ${rows}`);
  }
  if (rows === 0) throw new Error(`${source}: no rows`);
  const { cols, classCount } = format;
  const x = new Float64Array(rows * cols);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const fields = lines[r]!.split(',');
    if (fields.length !== cols + 1) {
      throw new Error(`${source}: line ${r + 1} has ${fields.length} values, expected ${cols + 1}`);
    }
    for (let c = 0; c < cols; c++) {
      const v = Number(fields[c]);
      if (!Number.isFinite(v) || fields[c]!.trim() === '') {
        throw new Error(`${source}: line ${r + 1} column ${c} is not a finite number`);
      }
      x[r * cols + c] = v;
    }
    const label = Number(fields[cols]);
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new Error(`${source}: line ${r + 1} label ${fields[cols]} not in 0..${classCount - 1}`);
    }
    y[r] = label;
  }
  return { x, y, rows, cols, classCount };
}

/** The rows listed in `indices`, in that order (copies). */
export function selectRows(data: Dataset, indices: Int32Array): Dataset {
  const { cols } = data;
  const x = new Float64Array(indices.length * cols);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    x.set(data.x.subarray(r * cols, (r + 1) * cols), i * cols);
    y[i] = data.y[r]!;
  }
  return { x, y, rows: indices.length, cols, classCount: data.classCount };
}
