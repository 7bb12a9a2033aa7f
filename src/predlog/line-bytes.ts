// One prediction record as its log line, written byte by byte in place (in the log file's slab): pino's
// info-line format (`level`, `time`, then record.ts's fields in its order, then a newline), the
// same text JSON.stringify gives for the record with each tensor's data as a plain array (NaN,
// ±Infinity and redacted columns as null, BigInt64 values exact). test/predlog-line.test.ts holds
// it to exactly that.
//
// Why by hand: a line carries hundreds of numbers. Building it as a string (typed-array joins,
// template concatenation, then UTF-8 into the file's buffer) cost ~5.7 µs per digits line on a
// 2-vCPU EPYC, and the 1 KB string was garbage the moment it was copied; writing the bytes here
// costs about half (~3 µs), with no string to collect (bench `predlog`).
import type { TensorCopy } from '../dataplane/prediction-event.js';
import type { PredictionRecord } from './record.js';

/** Bytes a value, a comma included, can take: "-1.7976931348623157e+308," is 25. */
const MAX_NUMBER_BYTES = 26;
/** Worst-case bytes per UTF-16 unit of a JSON string: a `\uXXXX` escape. */
const MAX_CHAR_BYTES = 6;
/** The fixed text of a line (keys, punctuation, numbers of the header), with room to spare. */
const FIXED_BYTES = 1024;
/** Integers below this print through the digit loop; others (and fractions) through String(). */
const DIGIT_LOOP_MAX = 2 ** 31;

const Q = 0x22; // "
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

const bytesOf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
/** Pieces at least this long are copied with set() (a native copy); shorter ones byte by byte. */
const SET_MIN_BYTES = 24;
/** Most model (or tensor) names a piece cache holds before it starts over. */
const MAX_CACHED_PIECES = 1024;

const K = {
  seq: bytesOf(',"seq":'),
  primaryId: bytesOf(',"primary_id":'),
  batchId: bytesOf(',"batch_id":'),
  batchSize: bytesOf(',"batch_size":'),
  rows: bytesOf(',"rows":'),
  queueUs: bytesOf(',"queue_us":'),
  computeUs: bytesOf(',"compute_us":'),
  totalUs: bytesOf(',"total_us":'),
  clientId: bytesOf(',"client_id":'),
  outputs: bytesOf(',"outputs":['),
  inputs: bytesOf('],"inputs":['),
  data: bytesOf('],"data":['),
  truncatedTrue: bytesOf('],"truncated":true}'),
  truncatedFalse: bytesOf('],"truncated":false}'),
  end: bytesOf(']}\n'),
  null: bytesOf('null'),
  true: bytesOf('true'),
  false: bytesOf('false'),
};

export class LineEncoder {
  /** Where the line being encoded goes (set by encodeInto). */
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;
  /** Text that repeats from line to line (the time within a millisecond, a version's names), as bytes. */
  private readonly primaryPieces: PieceCache = new Map();
  private readonly shadowPieces: PieceCache = new Map();
  private readonly tensorPieces: PieceCache = new Map();
  /** By run id (one per process). */
  private readonly runPieces: PieceCache = new Map();
  /** `,"protocol":…,"status":…,"code":…` by code, protocol and status. */
  private readonly outcomePieces: PieceCache = new Map();
  private timeIso = '';
  private timePiece: Uint8Array = new Uint8Array(0);

  /** Writes `r`'s line at `out[at..]`, which must hold lineBound(r, timeIso) bytes; returns its end. */
  encodeInto(r: PredictionRecord, timeIso: string, out: Buffer, at: number): number {
    this.buf = out;
    this.at = at;
    if (timeIso !== this.timeIso) {
      this.timeIso = timeIso;
      this.timePiece = bytesOf(`{"level":30,"time":${JSON.stringify(timeIso)}`);
    }
    this.put(this.timePiece);
    this.put(K.seq);
    this.int(r.seq);
    this.put(cached(this.runPieces, r.run, '', '', () => `,"run":${JSON.stringify(r.run)},"id":`));
    this.stringOrNull(r.id);
    this.put(this.versionPiece(r.model, r.version, r.sha256, r.shadow));
    if (r.primary_id !== undefined) {
      this.put(K.primaryId);
      this.string(r.primary_id);
    }
    this.put(K.batchId);
    this.intOrNull(r.batch_id);
    this.put(K.batchSize);
    this.intOrNull(r.batch_size);
    this.put(K.rows);
    this.intOrNull(r.rows);
    this.put(K.queueUs);
    this.intOrNull(r.queue_us);
    this.put(K.computeUs);
    this.intOrNull(r.compute_us);
    this.put(K.totalUs);
    this.int(r.total_us);
    this.put(cached(this.outcomePieces, r.code, r.protocol, String(r.status), () => `,"protocol":${JSON.stringify(r.protocol)},"status":${r.status},"code":${JSON.stringify(r.code)}`));
    if (r.client_id !== undefined) {
      this.put(K.clientId);
      this.string(r.client_id);
    }
    this.put(K.outputs);
    this.tensors(r.outputs);
    if (r.inputs !== undefined) {
      this.put(K.inputs);
      this.tensors(r.inputs);
    }
    this.put(K.end);
    return this.at;
  }

  /** `,"model":…,"version":…,"sha256":…,"shadow":…`, the same for every line of one version and role. */
  private versionPiece(model: string, version: string | null, sha256: string | null, shadow: boolean): Uint8Array {
    const cache = shadow ? this.shadowPieces : this.primaryPieces;
    return cached(cache, model, version ?? '\0', sha256 ?? '\0', () => `,"model":${JSON.stringify(model)},"version":${JSON.stringify(version)},"sha256":${JSON.stringify(sha256)},"shadow":${shadow}`);
  }

  /** `{"name":…,"datatype":"…","shape":[` (after a comma unless first), per tensor name and type. */
  private tensorPiece(t: TensorCopy, first: boolean): Uint8Array {
    return cached(this.tensorPieces, t.name, t.datatype, first ? '' : ',', () => `${first ? '' : ','}{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[`);
  }

  private tensors(ts: readonly TensorCopy[]): void {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      this.put(this.tensorPiece(t, i === 0));
      for (let d = 0; d < t.shape.length; d++) {
        if (d > 0) this.byte(COMMA);
        this.number(t.shape[d]!);
      }
      this.put(K.data);
      this.data(t);
      this.put(t.truncated ? K.truncatedTrue : K.truncatedFalse);
    }
  }

  private data(t: TensorCopy): void {
    const d = t.data;
    if (d.length === 0) return;
    if (t.datatype === 'BOOL' || (t.nullColumns !== undefined && t.shape.length === 2)) this.valueByValue(t);
    else if (d instanceof BigInt64Array) this.bigints(d);
    else if (d instanceof Float32Array || d instanceof Float64Array) this.floats(d, t);
    else this.integers(d, t);
  }

  /** Integral floats by the digit loop; from the first fraction on, the tensor again as one native join. */
  private floats(d: Float32Array | Float64Array, t: TensorCopy): void {
    const end = writeIntegers(d, this.buf, this.at);
    if (end >= 0) this.at = end;
    else this.fractional(d, t);
  }

  /** join prints NaN and ±Infinity as such: a tensor holding one goes value by value (as null). */
  private fractional(d: Float32Array | Float64Array, t: TensorCopy): void {
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v - v !== 0) {
        this.valueByValue(t);
        return;
      }
    }
    this.at += this.buf.write(d.join(','), this.at, 'latin1');
  }

  private bigints(d: BigInt64Array): void {
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (i > 0) this.byte(COMMA);
      if (v >= 0n && v < 2147483648n) this.int(Number(v));
      else this.ascii(String(v));
    }
  }

  /** INT32's -2^31 is past the digit loop's range: such a tensor goes value by value. */
  private integers(d: Int32Array | Int16Array | Int8Array | Uint8Array, t: TensorCopy): void {
    const end = writeIntegers(d, this.buf, this.at);
    if (end >= 0) this.at = end;
    else this.valueByValue(t);
  }

  /** Every value on its own: BOOL, redacted columns (null), and non-finite floats (null). */
  private valueByValue(t: TensorCopy): void {
    const d = t.data;
    const width = t.nullColumns !== undefined && t.shape.length === 2 ? t.shape[1]! : 0;
    let isNull: Uint8Array | undefined;
    if (width > 0) {
      isNull = new Uint8Array(width);
      for (const c of t.nullColumns!) if (c >= 0 && c < width) isNull[c] = 1;
    }
    const bool = t.datatype === 'BOOL';
    for (let i = 0; i < d.length; i++) {
      if (i > 0) this.byte(COMMA);
      const v = d[i]!;
      if (isNull !== undefined && isNull[i % width] === 1) this.put(K.null);
      else if (bool) this.put(v !== 0 ? K.true : K.false);
      else if (typeof v === 'bigint') this.ascii(String(v));
      else this.number(v);
    }
  }

  /** A JSON number as JSON.stringify prints it (null for NaN and ±Infinity). */
  private number(v: number): void {
    if (v > -DIGIT_LOOP_MAX && v < DIGIT_LOOP_MAX && v === Math.floor(v)) this.signedInt(v);
    else if (Number.isFinite(v)) this.ascii(String(v));
    else this.put(K.null);
  }

  /** An integer with |v| < 2^31: its sign, then the digit loop (-0 prints as 0). */
  private signedInt(v: number): void {
    if (v < 0) {
      this.byte(0x2d);
      this.int(-v);
    } else this.int(v);
  }

  private intOrNull(n: number | null): void {
    if (n === null) this.put(K.null);
    else this.number(n);
  }

  /** A non-negative integer below 2^31 by the digit loop; anything else through number(). */
  private int(n: number): void {
    if (!(n >= 0 && n < DIGIT_LOOP_MAX && n === Math.floor(n))) {
      if (Number.isFinite(n)) this.ascii(String(n));
      else this.put(K.null);
      return;
    }
    const buf = this.buf;
    if (n < 10) {
      buf[this.at++] = 0x30 + n;
      return;
    }
    let digits = 2;
    for (let p = 100; p <= n; p *= 10) digits++;
    let at = (this.at += digits);
    let m = n | 0;
    do {
      buf[--at] = 0x30 + (m % 10);
      m = (m / 10) | 0;
    } while (m > 0);
  }

  private stringOrNull(s: string | null): void {
    if (s === null) this.put(K.null);
    else this.string(s);
  }

  /** A JSON string: printable ASCII copied as it is, anything else as JSON.stringify writes it. */
  private string(s: string): void {
    const buf = this.buf;
    const start = this.at;
    let at = start;
    buf[at++] = Q;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === Q || c === BACKSLASH) {
        this.at = start + buf.write(JSON.stringify(s), start, 'utf8');
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = Q;
    this.at = at;
  }

  /** Text known to be printable ASCII (numbers, the run id). */
  private ascii(s: string): void {
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  private put(bytes: Uint8Array): void {
    const buf = this.buf;
    if (bytes.length >= SET_MIN_BYTES) {
      buf.set(bytes, this.at);
      this.at += bytes.length;
      return;
    }
    let at = this.at;
    for (let i = 0; i < bytes.length; i++) buf[at++] = bytes[i]!;
    this.at = at;
  }

  private byte(b: number): void {
    this.buf[this.at++] = b;
  }
}

/**
 * Writes d's values at buf[at..] as comma-separated integers and returns the end, or -1 at the
 * first value that is not an integer with |v| < 2^31 (the caller then writes the tensor another
 * way, from `at` again). One loop with its position in a local: the per-value method calls of the
 * general path cost ~4x more on a 64-pixel input.
 */
function writeIntegers(d: ArrayLike<number>, buf: Buffer, at: number): number {
  for (let i = 0; i < d.length; i++) {
    let v = d[i]!;
    if (!(v > -DIGIT_LOOP_MAX && v < DIGIT_LOOP_MAX && v === Math.floor(v))) return -1;
    if (i > 0) buf[at++] = COMMA;
    if (v < 0) {
      buf[at++] = 0x2d;
      v = -v;
    }
    if (v < 10) buf[at++] = 0x30 + v; // -0 too: "0"
    else if (v < 100) {
      const tens = (v / 10) | 0;
      buf[at++] = 0x30 + tens;
      buf[at++] = 0x30 + v - tens * 10;
    } else {
      let digits = 3;
      for (let p = 1000; p <= v; p *= 10) digits++;
      let m = v | 0;
      let k = (at += digits);
      do {
        buf[--k] = 0x30 + (m % 10);
        m = (m / 10) | 0;
      } while (m > 0);
    }
  }
  return at;
}

/** Byte pieces by three keys; nested maps, so a lookup hashes strings that already know their hash. */
type PieceCache = Map<string, Map<string, Map<string, Uint8Array>>>;

function cached(cache: PieceCache, a: string, b: string, c: string, text: () => string): Uint8Array {
  let byB = cache.get(a);
  if (byB === undefined) {
    if (cache.size >= MAX_CACHED_PIECES) cache.clear(); // unknown model names from URLs cannot grow it without bound
    cache.set(a, (byB = new Map()));
  }
  let byC = byB.get(b);
  if (byC === undefined) byB.set(b, (byC = new Map()));
  let piece = byC.get(c);
  if (piece === undefined) byC.set(c, (piece = new Uint8Array(Buffer.from(text(), 'utf8'))));
  return piece;
}

/** An upper bound on the bytes of `r`'s line. */
export function lineBound(r: PredictionRecord, timeIso: string): number {
  let chars = timeIso.length + r.run.length + r.model.length + r.protocol.length + r.code.length;
  chars += (r.id?.length ?? 0) + (r.version?.length ?? 0) + (r.sha256?.length ?? 0) + (r.primary_id?.length ?? 0) + (r.client_id?.length ?? 0);
  let bytes = FIXED_BYTES + chars * MAX_CHAR_BYTES;
  for (const list of [r.outputs, r.inputs ?? []]) {
    for (const t of list) bytes += 128 + t.name.length * MAX_CHAR_BYTES + (t.shape.length + t.data.length) * MAX_NUMBER_BYTES;
  }
  return bytes;
}
