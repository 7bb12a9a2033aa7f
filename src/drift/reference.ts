// A version's reference.json (train/reference.ts writes it) as the drift monitor reads it: schema-
// checked, then checked for what a schema cannot say (edges strictly increasing, one more share than
// edges, shares summing to 1). Fields a newer trainer may add are allowed; the optional `input`,
// `outputs.label.tensor` and `outputs.probabilities.tensor` name the tensors the profile describes
// (defaults: the model's features input, "label", "probabilities").
import { Ajv } from 'ajv';
import { deepFreeze } from '../repository/model-file.js';

export interface ReferenceHistogram {
  readonly edges: readonly number[];
  readonly shares: readonly number[];
}

export interface ReferenceFeature extends ReferenceHistogram {
  readonly name: string;
  /** Column of the row in the model input. */
  readonly index: number;
}

export interface DriftReference {
  readonly input?: string;
  readonly features: readonly ReferenceFeature[];
  readonly outputs?: {
    readonly label?: { readonly classes: readonly number[]; readonly shares: readonly number[]; readonly tensor?: string };
    readonly probabilities?: ReferenceHistogram & { readonly tensor?: string };
  };
  readonly rows: number;
}

const numbers = { type: 'array', items: { type: 'number' }, maxItems: 65534 };
const histogram = { edges: numbers, shares: numbers };
const schema = {
  type: 'object',
  required: ['binning', 'features', 'rows'],
  properties: {
    binning: { const: 'left-closed' },
    input: { type: 'string', minLength: 1 },
    rows: { type: 'integer', minimum: 0 },
    features: {
      type: 'array',
      maxItems: 65536,
      items: {
        type: 'object',
        required: ['name', 'index', 'edges', 'shares'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, index: { type: 'integer', minimum: 0 }, ...histogram },
      },
    },
    outputs: {
      type: 'object',
      properties: {
        label: { type: 'object', required: ['classes', 'shares'], properties: { classes: { type: 'array', items: { type: 'integer' }, maxItems: 65534 }, shares: numbers, tensor: { type: 'string' } } },
        probabilities: { type: 'object', required: ['edges', 'shares'], properties: { ...histogram, tensor: { type: 'string' } } },
      },
    },
  },
};
const validate = new Ajv({ strict: false }).compile(schema);

const SUM_TOLERANCE = 1e-6;

function checkHistogram(h: ReferenceHistogram, at: string): void {
  for (let i = 0; i < h.edges.length; i++) {
    if (!Number.isFinite(h.edges[i]!)) throw new Error(`${at}/edges/${i}: must be a finite number`);
    if (i > 0 && !(h.edges[i]! > h.edges[i - 1]!)) throw new Error(`${at}/edges/${i}: edges must be strictly increasing`);
  }
  if (h.shares.length !== h.edges.length + 1) throw new Error(`${at}/shares: ${h.shares.length} shares for ${h.edges.length} edges (must be one more)`);
  checkShares(h.shares, at);
}

function checkShares(shares: readonly number[], at: string): void {
  let sum = 0;
  shares.forEach((s, i) => {
    if (!(s >= 0)) throw new Error(`${at}/shares/${i}: must be >= 0`);
    sum += s;
  });
  if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new Error(`${at}/shares: sum to ${sum}, not 1`);
}

/** Parses and checks reference.json's text; throws an Error naming the JSON path of the first problem. */
export function parseDriftReference(text: string): DriftReference {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`/: not JSON (${(err as Error).message})`);
  }
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    throw new Error(`${e.instancePath || '/'}: ${e.message ?? 'is invalid'}`);
  }
  const r = raw as unknown as DriftReference;
  r.features.forEach((f, i) => checkHistogram(f, `/features/${i}`));
  if (r.outputs?.probabilities) checkHistogram(r.outputs.probabilities, '/outputs/probabilities');
  if (r.outputs?.label) {
    if (r.outputs.label.shares.length !== r.outputs.label.classes.length) throw new Error('/outputs/label/shares: one share per class');
    checkShares(r.outputs.label.shares, '/outputs/label');
  }
  return deepFreeze(r);
}
