// Prediction records handed from the main thread to the log's writer thread through shared memory
// (log-worker.ts): one producer (push, main thread), one consumer (drain, the worker), no locks.
//
// Why: under load the main thread is the server's limit, and writing a record's JSON line cost it
// ~3.5 µs; copying the record's numbers, strings and tensor bytes here costs it well under half
// of that, and the worker (on the other core, which has room) writes the line. postMessage was
// measured first: structured-cloning records cost the main thread more than the JSON did.
//
// Layout: a byte ring of `capacity` (a multiple of 8) and two Int32 positions, [write, read],
// published with Atomics (a record's bytes are written before its write position is stored, and
// read before its space is given back). A record never wraps: one that does not fit at the end
// goes to the start after a WRAP mark. One 8-byte slot always stays free, so write === read means
// empty. Every field is 8-aligned: numbers as float64 (null: NaN), strings as a length (NULL_LEN,
// ABSENT_LEN) and UTF-16 units, tensors as name, datatype, truncated, dims, redacted columns and
// their data's bytes.
import type { TensorCopy } from '../dataplane/prediction-event.js';
import { DATATYPE_OF_KIND, KIND_OF, type Kind } from '../native/kinds.js';
import type { DataType, TensorData } from '../types.js';
import { LAYOUT, viewsOf } from '../util/dtype-layout.js';
import type { PredictionRecord } from './record.js';

const WRAP = -1;
const NULL_LEN = -1;
const ABSENT_LEN = -2;
/** Fixed float64 fields at the start of a record: size, the 12 numbers below. */
const HEAD_SLOTS = 13;

export interface RingBuffers {
  readonly data: SharedArrayBuffer;
  /** Int32 [write, read] byte positions. */
  readonly control: SharedArrayBuffer;
}

export function ringBuffers(capacityBytes: number): RingBuffers {
  const capacity = Math.max(2048, Math.ceil(capacityBytes / 8) * 8);
  return { data: new SharedArrayBuffer(capacity), control: new SharedArrayBuffer(8) };
}

const pad8 = (n: number): number => (n + 7) & ~7;
const stringBytes = (s: string | null | undefined): number => 8 + (s === null || s === undefined ? 0 : pad8(s.length * 2));

function tensorBytes(t: TensorCopy): number {
  return stringBytes(t.name) + 8 * (4 + t.shape.length + (t.nullColumns?.length ?? 0)) + 8 + pad8(t.data.byteLength);
}

/** Bytes `r` takes in the ring. */
export function recordBytes(r: PredictionRecord): number {
  let n = HEAD_SLOTS * 8;
  n += stringBytes(r.run) + stringBytes(r.id) + stringBytes(r.model) + stringBytes(r.version) + stringBytes(r.sha256);
  n += stringBytes(r.primary_id) + stringBytes(r.protocol) + stringBytes(r.code) + stringBytes(r.client_id);
  for (const t of r.outputs) n += tensorBytes(t);
  if (r.inputs !== undefined) for (const t of r.inputs) n += tensorBytes(t);
  return n;
}

/**
 * Views of the ring. Copies in and out are element loops over the view of the data's own type:
 * TypedArray.set and subarray copies touching a SharedArrayBuffer take V8's relaxed-atomic
 * byte-by-byte path (measured: ~10x an element loop for a 64-value tensor).
 */
class RingViews {
  protected readonly f64: Float64Array;
  protected readonly u16: Uint16Array;
  protected readonly bytes: Buffer;
  protected readonly views: Record<DataType, TensorData>;
  protected readonly control: Int32Array;
  protected readonly capacity: number;

  constructor(b: RingBuffers) {
    this.f64 = new Float64Array(b.data);
    this.u16 = new Uint16Array(b.data);
    this.bytes = Buffer.from(b.data);
    this.views = viewsOf(b.data);
    this.control = new Int32Array(b.control);
    this.capacity = b.data.byteLength;
  }

  /** Bytes held (records not yet drained, WRAP gaps included). */
  held(): number {
    const w = Atomics.load(this.control, 0);
    const r = Atomics.load(this.control, 1);
    return w >= r ? w - r : this.capacity - r + w;
  }
}

/** The main thread's end. */
export class RingWriter extends RingViews {
  private at = 0;

  /** Copies `r` (formed at wall-clock `timeMs`) into the ring; false (nothing written) when it has no room for it. */
  push(r: PredictionRecord, timeMs: number): boolean {
    const size = recordBytes(r);
    const read = Atomics.load(this.control, 1);
    let at = this.at;
    if (at >= read) {
      if (at + size > this.capacity - (read === 0 ? 8 : 0)) {
        if (size > read - 8) return false;
        this.f64[at >> 3] = WRAP;
        at = 0;
      }
    } else if (at + size > read - 8) return false;
    this.write(r, timeMs, at, size);
    at += size;
    if (at === this.capacity) at = 0;
    this.at = at;
    Atomics.store(this.control, 0, at);
    return true;
  }

  private write(r: PredictionRecord, timeMs: number, start: number, size: number): void {
    const f = this.f64;
    const s = start >> 3;
    f[s] = size;
    f[s + 1] = r.seq;
    f[s + 2] = timeMs;
    f[s + 3] = r.batch_id ?? Number.NaN;
    f[s + 4] = r.batch_size ?? Number.NaN;
    f[s + 5] = r.rows ?? Number.NaN;
    f[s + 6] = r.queue_us ?? Number.NaN;
    f[s + 7] = r.compute_us ?? Number.NaN;
    f[s + 8] = r.total_us;
    f[s + 9] = r.status;
    f[s + 10] = r.shadow ? 1 : 0;
    f[s + 11] = r.outputs.length;
    f[s + 12] = r.inputs === undefined ? -1 : r.inputs.length;
    let at = start + HEAD_SLOTS * 8;
    at = this.string(r.run, at);
    at = this.string(r.id, at);
    at = this.string(r.model, at);
    at = this.string(r.version, at);
    at = this.string(r.sha256, at);
    at = this.string(r.primary_id, at);
    at = this.string(r.protocol, at);
    at = this.string(r.code, at);
    at = this.string(r.client_id, at);
    for (const t of r.outputs) at = this.tensor(t, at);
    if (r.inputs !== undefined) for (const t of r.inputs) at = this.tensor(t, at);
    if (at !== start + size) throw new Error(`record ring: wrote ${at - start} bytes, sized ${size}`);
  }

  private string(v: string | null | undefined, at: number): number {
    if (v === null || v === undefined) {
      this.f64[at >> 3] = v === null ? NULL_LEN : ABSENT_LEN;
      return at + 8;
    }
    this.f64[at >> 3] = v.length;
    const u = this.u16;
    const base = (at + 8) >> 1;
    for (let i = 0; i < v.length; i++) u[base + i] = v.charCodeAt(i);
    return at + 8 + pad8(v.length * 2);
  }

  private tensor(t: TensorCopy, start: number): number {
    let at = this.string(t.name, start);
    const f = this.f64;
    let s = at >> 3;
    f[s++] = KIND_OF[t.datatype];
    f[s++] = t.truncated ? 1 : 0;
    f[s++] = t.shape.length;
    for (const d of t.shape) f[s++] = d;
    const cols = t.nullColumns;
    f[s++] = cols === undefined ? -1 : cols.length;
    if (cols !== undefined) for (const c of cols) f[s++] = c;
    const bytes = t.data.byteLength;
    f[s++] = bytes;
    at = s * 8;
    const view = this.views[t.datatype] as unknown as { [i: number]: number | bigint };
    const src = t.data as unknown as ArrayLike<number | bigint>;
    const base = at / LAYOUT[t.datatype].bytes;
    for (let i = 0; i < src.length; i++) view[base + i] = src[i]!;
    return at + pad8(bytes);
  }
}

/** The worker's end. */
export class RingReader extends RingViews {
  /** Hands every record written so far to `take`, in order, and frees their space. Returns how many. */
  drain(take: (r: PredictionRecord, timeMs: number) => void): number {
    const write = Atomics.load(this.control, 0);
    let at = Atomics.load(this.control, 1);
    let n = 0;
    while (at !== write) {
      if (this.f64[at >> 3] === WRAP) {
        at = 0;
        continue;
      }
      const size = this.f64[at >> 3]!;
      const timeMs = this.f64[(at >> 3) + 2]!;
      const r = this.read(at);
      at += size;
      if (at === this.capacity) at = 0;
      Atomics.store(this.control, 1, at); // its bytes are copied out: the space is the writer's again
      take(r, timeMs);
      n++;
    }
    return n;
  }

  private read(start: number): PredictionRecord {
    const f = this.f64;
    const s = start >> 3;
    const nullable = (v: number): number | null => (Number.isNaN(v) ? null : v);
    const outputs = f[s + 11]!;
    const inputs = f[s + 12]!;
    let at = start + HEAD_SLOTS * 8;
    const str = (): string | null | undefined => {
      const [v, next] = this.string(at);
      at = next;
      return v;
    };
    const run = str()!;
    const id = str() as string | null;
    const model = str()!;
    const version = str() as string | null;
    const sha256 = str() as string | null;
    const primaryId = str() as string | undefined;
    const protocol = str()!;
    const code = str()!;
    const clientId = str() as string | undefined;
    const tensors = (count: number): TensorCopy[] => {
      const out: TensorCopy[] = [];
      for (let i = 0; i < count; i++) {
        const [t, next] = this.tensor(at);
        out.push(t);
        at = next;
      }
      return out;
    };
    const outs = tensors(outputs);
    const ins = inputs < 0 ? undefined : tensors(inputs);
    return {
      seq: f[s + 1]!,
      run,
      id,
      model,
      version,
      sha256,
      shadow: f[s + 10] === 1,
      primary_id: primaryId,
      batch_id: nullable(f[s + 3]!),
      batch_size: nullable(f[s + 4]!),
      rows: nullable(f[s + 5]!),
      queue_us: nullable(f[s + 6]!),
      compute_us: nullable(f[s + 7]!),
      total_us: f[s + 8]!,
      protocol,
      status: f[s + 9]!,
      code,
      client_id: clientId,
      outputs: outs,
      inputs: ins,
    };
  }

  private string(at: number): [string | null | undefined, number] {
    const len = this.f64[at >> 3]!;
    if (len === NULL_LEN) return [null, at + 8];
    if (len === ABSENT_LEN) return [undefined, at + 8];
    return [this.bytes.toString('utf16le', at + 8, at + 8 + len * 2), at + 8 + pad8(len * 2)];
  }

  private tensor(start: number): [TensorCopy, number] {
    const [name, after] = this.string(start);
    const f = this.f64;
    let s = after >> 3;
    const datatype = DATATYPE_OF_KIND[f[s++] as Kind];
    const truncated = f[s++] === 1;
    const rank = f[s++]!;
    const shape: number[] = [];
    for (let i = 0; i < rank; i++) shape.push(f[s++]!);
    const nCols = f[s++]!;
    let nullColumns: number[] | undefined;
    if (nCols >= 0) {
      nullColumns = [];
      for (let i = 0; i < nCols; i++) nullColumns.push(f[s++]!);
    }
    const bytes = f[s++]!;
    const at = s * 8;
    const { ctor, bytes: width } = LAYOUT[datatype];
    const n = bytes / width;
    const data = new (ctor as unknown as new (n: number) => TensorData)(n);
    const out = data as unknown as { [i: number]: number | bigint };
    const view = this.views[datatype] as unknown as ArrayLike<number | bigint>;
    const base = at / width;
    for (let i = 0; i < n; i++) out[i] = view[base + i]!;
    const t: TensorCopy = nullColumns === undefined ? { name: name!, datatype, shape, data, truncated } : { name: name!, datatype, shape, data, truncated, nullColumns };
    return [t, at + pad8(bytes)];
  }
}
