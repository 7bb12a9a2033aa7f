// Conversion of a request's JSON `data` (flat or nested, row-major) into the typed array of its
// datatype, with every element checked.
//
// Perf: flat data is one call of the datatype's fill loop (element-codecs.ts). Nested data costs
// one structural pass over the inner arrays (lengths only, so the typed array is allocated only
// once the element count is proven to be the product of the shape: a tiny body cannot make us
// allocate a huge tensor) and then the same fill loop per innermost row; recursion is bounded by
// the rank. A refused element drops into a slow path that describes it and keeps counting the
// rest, keeping at most MAX_ERROR_DETAILS descriptions.
//
// Binary decoders (msgpack, the binary tensor extension) may hand `data` over as a typed array
// instead: see typed-data.ts. The JSON path pays one Array.isArray for that.

import { MAX_ERROR_DETAILS, SluiceError, type ErrorCode } from '../errors.js';
import type { DataType, TensorData } from '../types.js';
import { CODECS, jsonType, type DtypeCodec } from './element-codecs.js';
import { decodeTypedData } from './typed-data.js';

/** Product of the dims; callers pass validated non-negative safe integers. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Per-tensor decoding state; one per call, nothing per element. */
class DataDecoder {
  /** Index of the current array at each nesting level, for error paths. */
  private readonly at: number[];
  private problems = 0;
  private code: ErrorCode | undefined;
  private readonly details: string[] = [];

  constructor(
    private readonly codec: DtypeCodec,
    private readonly shape: readonly number[],
    private readonly where: string,
  ) {
    this.at = new Array<number>(shape.length).fill(0);
  }

  decode(data: unknown[]): TensorData {
    const { shape } = this;
    const n = elementCount(shape);
    const nested = shape.length > 1 && Array.isArray(data[0]);
    if (!nested && data.length !== n) {
      throw lengthError(
        `${this.where}/data: expected ${n} elements (flat) or nested arrays matching shape [${shape.join(',')}], got ${data.length} elements`,
      );
    }
    if (nested) this.checkNested(data, 0);
    const out = this.codec.alloc(n);
    if (nested) this.fillNested(data, 0, out, 0);
    else this.fillRow(data, out, 0, 0);
    if (this.code !== undefined) {
      const s = this.problems === 1 ? '' : 's';
      throw new SluiceError(this.code, `${this.where}: ${this.problems} invalid data element${s}`, {
        details: this.details,
      });
    }
    return out;
  }

  /** Structural pass: every level's length equals its dim. Costs one step per inner array. */
  private checkNested(arr: unknown[], level: number): void {
    const dim = this.shape[level] ?? 0;
    if (arr.length !== dim) {
      throw lengthError(`${this.path(level)}: expected ${dim} elements, got ${arr.length}`);
    }
    if (level === this.shape.length - 1) return;
    for (let i = 0; i < arr.length; i++) {
      const child = arr[i];
      this.at[level] = i;
      if (!Array.isArray(child)) {
        const want = this.shape[level + 1] ?? 0;
        throw lengthError(`${this.path(level + 1)}: expected an array of ${want}, got ${jsonType(child)}`);
      }
      this.checkNested(child, level + 1);
    }
  }

  /** Fills after checkNested passed; returns the next flat offset. */
  private fillNested(arr: unknown[], level: number, out: TensorData, offset: number): number {
    if (level === this.shape.length - 1) {
      this.fillRow(arr, out, offset, level);
      return offset + arr.length;
    }
    for (let i = 0; i < arr.length; i++) {
      this.at[level] = i;
      offset = this.fillNested(arr[i] as unknown[], level + 1, out, offset);
    }
    return offset;
  }

  private fillRow(row: unknown[], out: TensorData, offset: number, level: number): void {
    const { codec } = this;
    for (let i = codec.fill(row, 0, out, offset); i !== -1; i = codec.fill(row, i + 1, out, offset)) {
      const p = codec.slow(out, offset + i, row[i]);
      if (p === undefined) continue;
      this.problems++;
      this.code ??= p.code;
      if (this.details.length < MAX_ERROR_DETAILS) this.details.push(`${this.path(level)}/${i}: ${p.text}`);
    }
  }

  /** JSON path of the array at `level` (level 0 = the data array itself). */
  private path(level: number): string {
    let p = `${this.where}/data`;
    for (let l = 0; l < level; l++) p += `/${this.at[l]}`;
    return p;
  }
}

function lengthError(detail: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INPUT_DATA_LENGTH', 'data does not match the shape', { details: [detail] });
}

/**
 * Converts `data` (flat with length product(shape), or nested row-major with each level's length
 * equal to its dim) into the datatype's typed array. `shape` must already be validated (concrete,
 * non-negative safe integers); `where` is the input's JSON path, e.g. "/inputs/0".
 * Throws SluiceError: SLUICE_ERR_INPUT_DATA_LENGTH, _NON_FINITE, _DATA_TYPE, _OUT_OF_RANGE
 * (the first bad element's code; details name up to MAX_ERROR_DETAILS elements).
 * `data` may also be a flat typed array or raw bytes: see decodeTypedData for those rules.
 */
export function decodeTensorData(
  datatype: DataType,
  data: unknown[] | ArrayBufferView,
  shape: readonly number[],
  where: string,
): TensorData {
  if (!Array.isArray(data)) return decodeTypedData(datatype, data, elementCount(shape), where);
  return new DataDecoder(CODECS[datatype], shape, where).decode(data);
}
