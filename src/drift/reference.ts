// A version's reference.json (train/reference.ts writes it) as the drift monitor reads it: an Ajv
// schema (strict mode) for the shape, then what a schema cannot say: edges strictly increasing and
// finite, one more share than edges, shares summing to 1 (within 1e-6), one share per class,
// feature names unique (they label metrics). The first problem found is thrown, named by its JSON
// path.
//
// Forward compatibility: properties this reader does not know are allowed (a newer trainer may add
// some); the ones it does know must be right. The optional `input`, `outputs.label.tensor` and
// `outputs.probabilities.tensor` name the tensors the profile describes; when absent the features
// describe the model's row input and the outputs are the tensors "label" and "probabilities"
// (DEFAULT_LABEL_TENSOR, DEFAULT_PROBABILITIES_TENSOR).
import { Ajv, type ErrorObject } from 'ajv';
import { deepFreeze } from '../util/deep-freeze.js';

export const DEFAULT_LABEL_TENSOR = 'label';
export const DEFAULT_PROBABILITIES_TENSOR = 'probabilities';

export interface ReferenceHistogram {
  /** Strictly increasing cut points (util/bins.ts). */
  readonly edges: readonly number[];
  /** edges.length + 1 shares of the training rows, summing to 1. */
  readonly shares: readonly number[];
}

export interface ReferenceFeature extends ReferenceHistogram {
  readonly name: string;
  /** Column of the row in the model input. */
  readonly index: number;
}

export interface DriftReference {
  readonly binning: 'left-closed';
  /** The input tensor the feature indices refer to. */
  readonly input?: string;
  readonly features: readonly ReferenceFeature[];
  readonly outputs?: {
    readonly label?: { readonly classes: readonly number[]; readonly names?: readonly string[]; readonly shares: readonly number[]; readonly tensor?: string };
    /** Histogram of each row's largest class probability. */
    readonly probabilities?: ReferenceHistogram & { readonly statistic: 'max'; readonly tensor?: string };
  };
  /** Training rows profiled. */
  readonly rows: number;
}

/** Bins a histogram may have: window.ts keeps bin indices in 16 bits, 0xFFFF meaning "missing". */
const MAX_BINS = 65535;

const edges = { type: 'array', items: { type: 'number' }, maxItems: MAX_BINS - 1 };
const shares = { type: 'array', items: { type: 'number' }, maxItems: MAX_BINS };
const tensor = { type: 'string', minLength: 1 };
const schema = {
  type: 'object',
  required: ['binning', 'features', 'rows'],
  properties: {
    binning: { type: 'string', const: 'left-closed' },
    input: tensor,
    rows: { type: 'integer', minimum: 0 },
    features: {
      type: 'array',
      maxItems: 65536,
      items: {
        type: 'object',
        required: ['name', 'index', 'edges', 'shares'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, index: { type: 'integer', minimum: 0 }, edges, shares },
      },
    },
    outputs: {
      type: 'object',
      properties: {
        label: {
          type: 'object',
          required: ['classes', 'shares'],
          properties: { classes: { type: 'array', items: { type: 'integer' }, uniqueItems: true, maxItems: MAX_BINS }, names: { type: 'array', items: { type: 'string' } }, shares, tensor },
        },
        probabilities: { type: 'object', required: ['statistic', 'edges', 'shares'], properties: { statistic: { type: 'string', const: 'max' }, edges, shares, tensor } },
      },
    },
  },
};
const validate = new Ajv({ strict: true, allErrors: false }).compile(schema);

const SUM_TOLERANCE = 1e-6;

function schemaProblem(e: ErrorObject): string {
  if (e.keyword === 'required') return `${e.instancePath}/${String(e.params.missingProperty)}: is required`;
  const allowed = e.keyword === 'const' ? ` (${JSON.stringify(e.params.allowedValue)})` : '';
  return `${e.instancePath || '/'}: ${e.message ?? 'is invalid'}${allowed}`;
}

function checkHistogram(h: ReferenceHistogram, at: string): void {
  for (let i = 0; i < h.edges.length; i++) {
    if (!Number.isFinite(h.edges[i]!)) throw new Error(`${at}/edges/${i}: must be a finite number`);
    if (i > 0 && !(h.edges[i]! > h.edges[i - 1]!)) throw new Error(`${at}/edges/${i}: edges must be strictly increasing (${h.edges[i - 1]} then ${h.edges[i]})`);
  }
  if (h.shares.length !== h.edges.length + 1) throw new Error(`${at}/shares: ${h.shares.length} shares for ${h.edges.length} edges (must be one more)`);
  checkShares(h.shares, at);
}

function checkShares(values: readonly number[], at: string): void {
  let sum = 0;
  values.forEach((s, i) => {
    if (!(s >= 0 && s <= 1)) throw new Error(`${at}/shares/${i}: must be a share in 0..1, got ${s}`);
    sum += s;
  });
  if (!(Math.abs(sum - 1) <= SUM_TOLERANCE)) throw new Error(`${at}/shares: sum to ${sum}, not 1 (within ${SUM_TOLERANCE})`);
}

/** Parses and checks reference.json's text; throws an Error naming the JSON path of the first problem. Returns it deep-frozen. */
export function parseDriftReference(text: string): DriftReference {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`/: not JSON (${(err as Error).message})`);
  }
  if (!validate(raw)) throw new Error(schemaProblem(validate.errors![0]!));
  const r = raw as unknown as DriftReference;
  const names = new Map<string, number>();
  r.features.forEach((f, i) => {
    const first = names.get(f.name);
    if (first !== undefined) throw new Error(`/features/${i}/name: "${f.name}" is also /features/${first}/name`);
    names.set(f.name, i);
    checkHistogram(f, `/features/${i}`);
  });
  const label = r.outputs?.label;
  if (label) {
    if (label.shares.length !== label.classes.length) throw new Error(`/outputs/label/shares: ${label.shares.length} shares for ${label.classes.length} classes (one per class)`);
    if (label.names && label.names.length !== label.classes.length) throw new Error(`/outputs/label/names: ${label.names.length} names for ${label.classes.length} classes`);
    checkShares(label.shares, '/outputs/label');
  }
  if (r.outputs?.probabilities) checkHistogram(r.outputs.probabilities, '/outputs/probabilities');
  return deepFreeze(r);
}
