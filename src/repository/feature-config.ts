// model.json `features`, `featuresInput` and `classes`: the cross-checks a schema cannot express,
// run on the resolved tensors (after the graph filled in what model.json left out).
import type { DataType, FeatureSpec, TensorSpec } from '../types.js';

/** A feature as model.json declares it: `required` may be left out (default true). */
export type RawFeature = Omit<FeatureSpec, 'required'> & { required?: boolean };

/** Keys the JSON body decoder refuses (codec/json-body.ts): a feature so named could never be sent. */
const UNSENDABLE_NAMES = new Set(['constructor', 'prototype']);

const INT_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

interface FeatureSource {
  features?: readonly RawFeature[];
  featuresInput?: string;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
  maxBatchSize: number;
}

/** Checks `features` against the input it fills; returns the parsed fields (or none). */
export function parseFeatures(c: FeatureSource, details: string[]): { features?: FeatureSpec[]; featuresInput?: string } {
  const raw = c.features;
  const asked = c.featuresInput;
  if (raw === undefined) {
    if (asked !== undefined) details.push('/featuresInput: given without features');
    return {};
  }
  const input = asked === undefined ? c.inputs[0] : c.inputs.find((t) => t.name === asked);
  if (input === undefined) {
    details.push(`/featuresInput: ${JSON.stringify(asked)} is not an input of this model (inputs: ${c.inputs.map((t) => t.name).join(', ')})`);
    return {};
  }
  if (c.inputs.length > 1) {
    details.push(`/features: a /v1 request carries only the features, so the model must have exactly one input; it has ${c.inputs.length}`);
  }
  if (c.maxBatchSize === 0) {
    details.push('/features: /v1 requests carry rows of features, so the model must batch ("maxBatchSize" of at least 1); it is 0');
  }
  const cols = input.shape[1];
  if (input.shape.length !== 2 || input.shape[0] !== -1 || cols === undefined || cols === -1 || (input.batchDim ?? 0) !== 0) {
    details.push(`/features: input "${input.name}" must have shape [-1, n] with a fixed n to take named features; it has [${input.shape.join(', ')}]`);
  } else if (cols !== raw.length) {
    details.push(`/features: ${raw.length} features declared but input "${input.name}" has ${cols} columns (shape [-1, ${cols}])`);
  }
  if (input.datatype === 'BOOL') details.push(`/features: input "${input.name}" is BOOL; named features feed numeric inputs only`);
  for (const o of c.outputs) {
    if ((o.batchDim ?? 0) !== 0) {
      details.push(`/features: output "${o.name}" has its batch dim at ${String(o.batchDim)}; /v1 predictions need every output batched on dim 0`);
    }
  }

  const firstAt = new Map<string, number>();
  const features = raw.map((f, i): FeatureSpec => {
    const at = `/features/${i}`;
    const seen = firstAt.get(f.name);
    if (seen !== undefined) details.push(`${at}/name: duplicate "${f.name}" (first at /features/${seen})`);
    else firstAt.set(f.name, i);
    if (UNSENDABLE_NAMES.has(f.name)) details.push(`${at}/name: "${f.name}" cannot be sent: JSON bodies refuse that key`);
    checkFeature(f, at, input.datatype, details);
    return { ...f, required: f.required ?? true };
  });
  return { features, featuresInput: input.name };
}

function checkFeature(f: RawFeature, at: string, dt: DataType, details: string[]): void {
  const range = INT_RANGES[dt];
  if (f.type === 'enum') {
    if (f.minimum !== undefined) details.push(`${at}/minimum: does not apply to type "enum"`);
    if (f.maximum !== undefined) details.push(`${at}/maximum: does not apply to type "enum"`);
    if (f.enum === undefined) {
      details.push(`${at}/enum: required for type "enum" (the allowed values)`);
      if (f.codes !== undefined) details.push(`${at}/codes: given without enum`);
    } else {
      f.enum.forEach((v, j) => {
        if (f.enum?.indexOf(v) !== j) details.push(`${at}/enum/${j}: duplicate value ${JSON.stringify(v)}`);
      });
      if (f.codes !== undefined && f.codes.length !== f.enum.length) {
        details.push(`${at}/codes: one code per enum value: expected ${f.enum.length}, got ${f.codes.length}`);
      } else if (f.codes === undefined && f.enum.some((v) => typeof v === 'string')) {
        details.push(`${at}/codes: required when enum has string values (the model takes numbers)`);
      }
      if (range !== undefined) {
        const fed = f.codes ?? f.enum;
        fed.forEach((v, j) => {
          if (typeof v === 'number' && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
            details.push(`${at}/${f.codes ? 'codes' : 'enum'}/${j}: ${v} is not an integer in [${range[0]}, ${range[1]}] (input datatype ${dt})`);
          }
        });
      }
    }
  } else {
    if (f.enum !== undefined) details.push(`${at}/enum: only for type "enum"`);
    if (f.codes !== undefined) details.push(`${at}/codes: only for type "enum"`);
    if (f.minimum !== undefined && f.maximum !== undefined && f.minimum > f.maximum) {
      details.push(`${at}: minimum ${f.minimum} is greater than maximum ${f.maximum}`);
    }
    if (range !== undefined) {
      if (f.type !== 'integer') details.push(`${at}/type: input datatype ${dt} takes integers: use "integer" or "enum"`);
      if (!(f.minimum !== undefined && f.maximum !== undefined && f.minimum >= range[0] && f.maximum <= range[1])) {
        details.push(`${at}: input datatype ${dt} needs minimum and maximum within [${range[0]}, ${range[1]}]`);
      }
    }
  }
  const required = f.required ?? true;
  if (required && f.default !== undefined) details.push(`${at}/default: only optional features (required: false) take a default`);
  if (!required && f.default === undefined) details.push(`${at}/default: required when the feature is optional (required: false)`);
  if (f.default !== undefined) {
    const why = valueProblem(f, f.default);
    if (why !== undefined) details.push(`${at}/default: ${why}`);
  }
}

/** Why `v` is not an allowed value of feature `f`, or undefined when it is. */
function valueProblem(f: RawFeature, v: number | string): string | undefined {
  if (f.type === 'enum') return f.enum === undefined || f.enum.includes(v) ? undefined : `${JSON.stringify(v)} is not one of enum`;
  if (typeof v !== 'number') return `must be a number, got string`;
  if (f.type === 'integer' && !Number.isInteger(v)) return `must be an integer, got ${v}`;
  if (f.minimum !== undefined && v < f.minimum) return `must be >= ${f.minimum}, got ${v}`;
  if (f.maximum !== undefined && v > f.maximum) return `must be <= ${f.maximum}, got ${v}`;
  return undefined;
}

/**
 * `classes[i]` names class i: column i of a `probabilities` output of shape [-1, k] (k must equal
 * the number of names) and value i of an integer `label` output of shape [-1] when there is one.
 */
export function checkClasses(classes: readonly string[], outputs: readonly TensorSpec[], details: string[]): void {
  classes.forEach((n, i) => {
    if (classes.indexOf(n) !== i) details.push(`/classes/${i}: duplicate "${n}"`);
  });
  const label = outputs.find((o) => o.name === 'label');
  if (label !== undefined && (label.shape.length !== 1 || (label.batchDim ?? 0) !== 0 || INT_RANGES[label.datatype] === undefined)) {
    details.push(`/classes: output "label" must be integer of shape [-1] to be named by classes; it is ${label.datatype} [${label.shape.join(', ')}]`);
  }
  if (outputs.some((o) => o.name === 'class')) details.push('/classes: an output named "class" would clash with the "class" field of /v1 predictions');
  const probs = outputs.find((o) => o.name === 'probabilities');
  const k = probs?.shape[1];
  if (probs !== undefined && probs.shape.length === 2 && k !== undefined && k !== -1 && k !== classes.length) {
    details.push(`/classes: ${classes.length} names but output "probabilities" has ${k} columns`);
  }
}

