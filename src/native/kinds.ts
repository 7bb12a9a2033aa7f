// The functions the native core provides (native/README.md), as both implementations type them.
import type { DataType, TensorData } from '../types.js';

/** Datatype codes of the addon's `kind` argument (native/src/encode.h). */
export enum Kind {
  BOOL = 0,
  UINT8 = 1,
  INT8 = 2,
  INT16 = 3,
  INT32 = 4,
  INT64 = 5,
  FP32 = 6,
  FP64 = 7,
}

export const KIND_OF: Readonly<Record<DataType, Kind>> = Object.freeze({
  BOOL: Kind.BOOL,
  UINT8: Kind.UINT8,
  INT8: Kind.INT8,
  INT16: Kind.INT16,
  INT32: Kind.INT32,
  INT64: Kind.INT64,
  FP32: Kind.FP32,
  FP64: Kind.FP64,
});

/** KIND_OF read the other way: the datatype of each Kind code. */
export const DATATYPE_OF_KIND: Readonly<Record<Kind, DataType>> = Object.freeze(
  Object.fromEntries(Object.entries(KIND_OF).map(([dt, kind]) => [kind, dt])) as Record<Kind, DataType>,
);

/**
 * The JSON text between a data array's brackets: integers as digits, BOOL as true/false, floats as
 * the shortest text that round-trips in the tensor's own type (FP32: `0.1`, not
 * `0.10000000149011612`) in Number::toString's layout, -0 as 0, non-finite values as null.
 * `data` must be the datatype's own typed array (BOOL: a Uint8Array of 0/1).
 */
export type EncodeData = (data: TensorData, kind: Kind) => string;

/**
 * Bins `rows` rows of a row-major [rows, cols] batch: for feature f, the value at column
 * featureColumn[f] goes to bin (count of edges[edgeStart[f] .. edgeStart[f+1]) that are <= v),
 * written to out[r * features + f]; a non-finite value or a column past `cols` writes -1 and
 * counts as skipped. Returns the number skipped. The addon takes FP32/FP64 data only; the
 * fallback any array of numbers (the drift monitor hands it integer tensors).
 */
export type BinRows<D extends ArrayLike<number> = Float32Array | Float64Array> = (
  data: D,
  rows: number,
  cols: number,
  featureColumn: Int32Array,
  edges: Float64Array,
  edgeStart: Int32Array,
  out: Int32Array,
) => number;

/**
 * Lifts the tensor data out of an OIP JSON request body: every /inputs/i/data array that is
 * rectangular and non-empty at each level, and whose elements its input's datatype accepts (the
 * rules of validation/element-codecs.ts), is stored in `values` in that datatype, span k from byte
 * first_k * 8 on. A lifted body was scanned whole: strict JSON, no deeper than maxDepth.
 *
 * Returns `true` for a plain body: `{"id"?: string, "inputs": [...]}` with one or more inputs of
 * exactly the keys name (a string), shape (a flat array of numbers), datatype and data, each data
 * lifted and taken by the validator as is (flat with product(shape) elements, or nested exactly
 * as the shape), every string ASCII without escapes. Such a body is all ASCII, so valid UTF-8.
 * `meta` then describes its whole tree: [inputs n, 0, id start byte (-1: no id), id end byte,
 * 1 when id comes before inputs (else 0)], then per input [Kind, first, count, name start byte,
 * name end byte, key order, rank, shape...]; key order is the input's four keys in body order as
 * base-4 digits, first key most significant (0 name, 1 shape, 2 datatype, 3 data).
 *
 * Otherwise, unless `plainOnly`, returns the body's text with each lifted array replaced by `0`,
 * and `meta` receives the number of lifted arrays, then 1 when some key anywhere is escaped or
 * named __proto__, constructor or prototype (else 0), then per array [input index, Kind, first,
 * count, start byte, end byte, rank, dims...]; the body must then be valid UTF-8 (the caller
 * checks). Or a number: the byte length `values` must have (call again with one); or undefined
 * when nothing was lifted or the body is one it leaves to JSON.parse: not one strict JSON object,
 * deeper than maxDepth, an escaped or repeated key at the top level or in an input object, or
 * (plainOnly) not plain. The caller's JSON.parse path then gives the result and every error, so
 * the two agree by construction.
 */
export type LiftData = (
  body: Uint8Array,
  maxDepth: number,
  values: Uint8Array,
  meta: Float64Array,
  plainOnly: boolean,
) => string | number | true | undefined;
