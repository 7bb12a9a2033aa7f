// The /v1 mapper through its public seam: wire text → parseJsonBody → compiled mapper. Every bad
// request is followed (afterEach) by a valid one that must succeed.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { MAX_ERROR_DETAILS, SluiceError } from '../src/errors.js';
import { editDistance as boundedEditDistance } from '../src/util/edit-distance.js';

const editDistance = (a: string, b: string): number => boundedEditDistance(a, b, 2);
import { compileFeatureMapper, MAX_TIMEOUT_MS, type FeatureMapper } from '../src/features/index.js';
import { parseModelConfig } from '../src/repository/model-config.js';
import { compileRequestValidator, MAX_TIMEOUT_MS as OIP_TIMEOUT_MS } from '../src/validation/request-validator.js';
import { bundled, dataRows, instanceOf } from './features-helpers.js';

const cancer = bundled('breast-cancer');
const digits = bundled('digits');
const mapCancer = compileFeatureMapper(cancer);
const mapDigits = compileFeatureMapper(digits);
const cancerRows = dataRows('breast-cancer');
const digitRows = dataRows('digits');
const valid = (i: number) => instanceOf(cancer, cancerRows[i] as number[]);

const TOY_RAW = {
  name: 'toy',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
  batching: { maxBatchSize: 4 },
  features: [
    { name: 'age', type: 'integer', unit: 'years', minimum: 0, maximum: 130 },
    { name: 'income', type: 'number', unit: 'EUR', minimum: 0, required: false, default: 1000 },
    { name: 'grade', type: 'enum', enum: ['low', 'mid', 'high'], codes: [10, 20, 30] },
    { name: 'stage', type: 'enum', enum: [1, 2, 4], required: false, default: 2 },
  ],
};
const toyWith = (patch: object) => parseModelConfig({ ...TOY_RAW, ...patch }, 'toy');
const TOY = toyWith({});
const mapToy = compileFeatureMapper(TOY);

const send = (map: FeatureMapper, body: unknown) => map(parseJsonBody(typeof body === 'string' ? body : JSON.stringify(body)));

function refused(map: FeatureMapper, body: unknown): SluiceError {
  try {
    send(map, body);
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError);
    const e = err as SluiceError;
    expect(e.code).toBe('SLUICE_ERR_FEATURES_INVALID');
    expect(e.status).toBe(400);
    return e;
  }
  throw new Error('expected the request to be refused');
}
const detailsOf = (map: FeatureMapper, body: unknown) => refused(map, body).details;

afterEach(() => {
  const ok = send(mapCancer, { instances: [valid(0), valid(1)] });
  expect(ok.rows).toBe(2);
  expect(ok.inputs[0]?.data).toBeInstanceOf(Float32Array);
});

describe('mapping instances to the input tensor', () => {
  it('real rows give exactly the tensor the OIP path builds from the same numbers', () => {
    for (const [config, map, rows] of [[cancer, mapCancer, cancerRows], [digits, mapDigits, digitRows]] as const) {
      const oip = compileRequestValidator({ name: config.name, inputs: [...config.inputs], outputs: [...config.outputs], maxBatchSize: 64 });
      const input = config.inputs[0]!;
      for (const start of [0, 64, rows.length - 37]) {
        const batch = rows.slice(start, start + 64);
        const v1 = send(map, { instances: batch.map((r) => instanceOf(config, r)) });
        const v2 = oip(parseJsonBody(JSON.stringify({ inputs: [{ name: input.name, datatype: 'FP32', shape: [batch.length, input.shape[1]], data: batch.flat() }] })));
        expect(v1.rows).toBe(batch.length);
        expect(v1.inputs).toHaveLength(1);
        expect(v1.inputs[0]).toMatchObject({ name: input.name, datatype: 'FP32', shape: [batch.length, input.shape[1]] });
        const a = v1.inputs[0]!.data as Float32Array;
        const b = v2.inputs[0]!.data as Float32Array;
        expect(a).toBeInstanceOf(Float32Array);
        expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
      }
    }
  });

  it('takes columns from names, not from the order of keys in the instance', () => {
    const row = valid(3);
    const reversed = Object.fromEntries(Object.entries(row).reverse());
    const a = send(mapCancer, { instances: [row] }).inputs[0]!.data;
    expect(send(mapCancer, { instances: [reversed] }).inputs[0]!.data).toEqual(a);
    expect(a[0]).toBe(Math.fround(cancerRows[3]![0]!));
    expect(a[29]).toBe(Math.fround(cancerRows[3]![29]!));
  });

  it('carries id, parameters and timeout_ms as the OIP path does', () => {
    const r = send(mapCancer, { id: 'req-7', parameters: { timeout_ms: 250, extra: 'x' }, instances: [valid(0)] });
    expect(r).toMatchObject({ id: 'req-7', timeoutMs: 250, rows: 1, parameters: { timeout_ms: 250, extra: 'x' } });
    const bare = send(mapCancer, { instances: [valid(0)] });
    expect(bare.id).toBeUndefined();
    expect(bare.timeoutMs).toBeUndefined();
    expect(MAX_TIMEOUT_MS).toBe(OIP_TIMEOUT_MS);
  });

  it('fills defaults of absent optional features and feeds enum codes', () => {
    const r = send(mapToy, {
      instances: [
        { age: 40, income: 2500.5, grade: 'high', stage: 4 },
        { age: 41, grade: 'low' },
        { grade: 'mid', age: 0, stage: 1 },
      ],
    });
    expect(r.inputs[0]).toMatchObject({ name: 'x', shape: [3, 4] });
    expect(Array.from(r.inputs[0]!.data as Float32Array)).toEqual([40, 2500.5, 30, 4, 41, 1000, 10, 2, 0, 1000, 20, 1]);
  });

  it('fills integer inputs with their own typed arrays', () => {
    const features = [
      { name: 'a', type: 'integer', minimum: -5, maximum: 5 },
      { name: 'b', type: 'enum', enum: ['n', 'y'], codes: [0, 1] },
    ];
    const outputs = TOY_RAW.outputs;
    const i32 = compileFeatureMapper(parseModelConfig({ name: 'i', inputs: [{ name: 'x', datatype: 'INT32', shape: [-1, 2] }], outputs, features }, 'i'));
    expect(send(i32, { instances: [{ a: -5, b: 'y' }] }).inputs[0]!.data).toEqual(new Int32Array([-5, 1]));
    const i64 = compileFeatureMapper(parseModelConfig({ name: 'i', inputs: [{ name: 'x', datatype: 'INT64', shape: [-1, 2] }], outputs, features }, 'i'));
    expect(send(i64, { instances: [{ a: 3, b: 'n' }] }).inputs[0]!.data).toEqual(new BigInt64Array([3n, 0n]));
  });
});

describe('refusals name the JSON path of every offending field', () => {
  it('out of range', () => {
    const bad = [valid(0), valid(1), valid(2), { ...valid(3), mean_radius: 60.01, mean_area: -1 }];
    expect(detailsOf(mapCancer, { instances: bad })).toEqual(['/instances/3/mean_radius: must be <= 60', '/instances/3/mean_area: must be >= 0']);
    const e = refused(mapCancer, { instances: bad });
    expect(e.message).toBe('invalid request for model "breast-cancer": /instances/3/mean_radius: must be <= 60 (2 problems)');
    expect(e.toWire()).toEqual({ error: e.message, code: 'SLUICE_ERR_FEATURES_INVALID', details: e.details });
  });

  it('wrong types', () => {
    expect(detailsOf(mapCancer, { instances: [{ ...valid(0), mean_radius: '14.2', se_area: null, worst_area: [1] }] })).toEqual([
      '/instances/0/mean_radius: must be a number, got string',
      '/instances/0/se_area: must be a number, got null',
      '/instances/0/worst_area: must be a number, got array',
    ]);
    const px = instanceOf(digits, digitRows[0] as number[]);
    expect(detailsOf(mapDigits, { instances: [{ ...px, pixel_2_3: 3.5, pixel_2_4: true }] })).toEqual([
      '/instances/0/pixel_2_3: must be an integer, got 3.5',
      '/instances/0/pixel_2_4: must be an integer, got boolean',
    ]);
    expect(detailsOf(mapCancer, { instances: [valid(0), [1, 2]] })).toEqual(['/instances/1: must be an object, got array']);
    expect(detailsOf(mapCancer, { instances: { 0: valid(0) } })).toEqual(['/instances: must be an array, got object']);
  });

  it('missing required and unknown features', () => {
    const { mean_texture: _t, worst_symmetry: _s, ...partial } = valid(0);
    // The unknown key first, the "is required" lines after it (they are often its consequence).
    expect(detailsOf(mapCancer, { instances: [valid(1), { ...partial, radius: 12 }] })).toEqual([
      '/instances/1/radius: is not a feature of this model',
      '/instances/1/mean_texture: is required',
      '/instances/1/worst_symmetry: is required',
    ]);
    expect(detailsOf(mapCancer, { instance: [valid(0)] })).toEqual([
      '/instance: is not a property of this request (expected instances, id, parameters)',
      '/instances: is required',
    ]);
    // A client-supplied key is escaped as a JSON Pointer token and truncated.
    const long = `a/b~${'x'.repeat(100)}`;
    expect(detailsOf(mapCancer, { instances: [{ ...valid(0), [long]: 1 }] })).toEqual([`/instances/0/a~1b~0${'x'.repeat(60)}…: is not a feature of this model`]);
  });

  it('too many and no instances', () => {
    expect(detailsOf(mapCancer, { instances: Array.from({ length: 65 }, (_, i) => valid(i)) })).toEqual([
      "/instances: must hold at most 64 instances (the model's maxBatchSize), got 65",
    ]);
    // Over the cap, the rows are not looked at (that work is what the cap bounds).
    const junk = Array.from({ length: 1000 }, () => ({ radius: 'x' }));
    expect(detailsOf(mapCancer, { instances: junk })).toEqual(["/instances: must hold at most 64 instances (the model's maxBatchSize), got 1000"]);
    expect(detailsOf(mapCancer, { instances: [] })).toEqual(['/instances: must hold at least 1 instance']);
    expect(detailsOf(mapToy, { instances: Array(5).fill({ age: 1, grade: 'low' }) })).toEqual([
      "/instances: must hold at most 4 instances (the model's maxBatchSize), got 5",
    ]);
  });

  it('enum values', () => {
    expect(detailsOf(mapToy, { instances: [{ age: 1, grade: 'MID' }, { age: 2, grade: 'low', stage: 3 }] })).toEqual([
      '/instances/0/grade: must be one of "low", "mid", "high"',
      '/instances/1/stage: must be one of 1, 2, 4',
    ]);
  });

  it('id and parameters.timeout_ms', () => {
    expect(detailsOf(mapCancer, { id: 7, parameters: { timeout_ms: 0 }, instances: [valid(0)] })).toEqual([
      '/id: must be a string, got 7',
      '/parameters/timeout_ms: must be > 0',
    ]);
    expect(detailsOf(mapCancer, { id: 'x'.repeat(257), parameters: { timeout_ms: 600_001 }, instances: [valid(0)] })).toEqual([
      '/id: must NOT have more than 256 characters',
      '/parameters/timeout_ms: must be <= 600000',
    ]);
    expect(send(mapCancer, { parameters: { timeout_ms: 600_000 }, instances: [valid(0)] }).timeoutMs).toBe(600_000);
  });

  it('caps the details and says how many were left out', () => {
    const instances = Array.from({ length: 64 }, () => ({ ...valid(0), mean_radius: 99 }));
    const e = refused(mapCancer, { instances });
    expect(e.details).toHaveLength(MAX_ERROR_DETAILS);
    expect(e.details?.slice(0, 2)).toEqual(['/instances/0/mean_radius: must be <= 60', '/instances/1/mean_radius: must be <= 60']);
    expect(e.details?.[MAX_ERROR_DETAILS - 1]).toBe(`… ${64 - (MAX_ERROR_DETAILS - 1)} more problems not shown`);
    expect(e.message).toMatch(/\(64 problems\)$/);
  });

  it('bounds the work on a flood of unknown keys', () => {
    const flood = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const instances = Array.from({ length: 64 }, () => ({ ...valid(0), ...flood }));
    const e = refused(mapCancer, { instances });
    expect(e.details).toHaveLength(MAX_ERROR_DETAILS);
    expect(e.details?.[0]).toBe('/instances/0/k0: is not a feature of this model');
    // 64 instances cut to 30 + 20 keys each: 20 unknown keys reported per instance, and more exist.
    expect(e.details?.[MAX_ERROR_DETAILS - 1]).toBe(`… ${64 * 20 - (MAX_ERROR_DETAILS - 1)}+ more problems not shown`);
  });

  it('NaN and ±Infinity (possible from non-JSON decoders such as msgpack) are refused, never fed', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      // Straight to the mapper: JSON text cannot carry these values.
      const body = { instances: [valid(0), { ...valid(1), se_radius: bad }] };
      let caught: unknown;
      try {
        mapCancer(body);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'SLUICE_ERR_FEATURES_INVALID', details: [`/instances/1/se_radius: must be a finite number, got ${bad}`] });
    }
    // Without bounds only the type check (ajv's strictNumbers) stands between NaN and the tensor.
    const open = compileFeatureMapper(toyWith({ features: [{ name: 'v', type: 'number' }, ...TOY_RAW.features.slice(1)] }));
    expect(() => open({ instances: [{ v: Number.NaN, grade: 'low' }] })).toThrow(expect.objectContaining({ details: ['/instances/0/v: must be a finite number, got NaN'] }));
  });

  it('values past FP32 are refused when a feature declares no maximum', () => {
    const open = compileFeatureMapper(toyWith({ features: [{ name: 'v', type: 'number' }, ...TOY_RAW.features.slice(1)] }));
    expect(detailsOf(open, '{"instances":[{"v":1e39,"grade":"low"}]}')).toEqual(['/instances/0/v: 1e+39 overflows FP32']);
    expect(send(open, { instances: [{ v: 3.4e38, grade: 'low' }] }).rows).toBe(1);
  });

  it('the error example of docs/features.md is what the mapper answers', () => {
    const doc = readFileSync(new URL('../docs/features.md', import.meta.url), 'utf8');
    const block = /### Errors[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const { mean_radius: _r, worst_symmetry: _w, ...partial } = valid(4);
    const instances = [valid(0), valid(1), valid(2), { ...valid(3), mean_radius: 61, se_area: '40' }, { ...partial, mean_radius: 12, radius: 12 }];
    expect(refused(mapCancer, { instances }).toWire()).toEqual(JSON.parse(block as string));
  });
});

describe('details put the mistakes first and "is required" last', () => {
  const names = (cancer.features ?? []).map((f) => f.name);
  const without = (row: Record<string, number>, ...drop: string[]) => Object.fromEntries(Object.entries(row).filter(([k]) => !drop.includes(k)));

  it('a misspelt feature: the type error, the unknown key with a suggestion, then the required line', () => {
    const inst = { ...without(valid(0), 'mean_radius'), mean_radus: valid(0).mean_radius, se_area: '40' };
    const e = refused(mapCancer, { instances: [inst] });
    expect(e.details).toEqual([
      '/instances/0/se_area: must be a number, got string',
      '/instances/0/mean_radus: is not a feature of this model; did you mean "mean_radius"?',
      '/instances/0/mean_radius: is required (misspelt as "mean_radus"?)',
    ]);
    expect(e.message).toBe('invalid request for model "breast-cancer": /instances/0/se_area: must be a number, got string (3 problems)');
  });

  it('the cap applies after ordering: a wrong type is never pushed out by "is required" lines', () => {
    const inst: Record<string, unknown> = without(valid(0), ...names.slice(0, 25));
    inst.worst_symmetry = 'high';
    const e = refused(mapCancer, { instances: [inst] });
    expect(e.details).toHaveLength(MAX_ERROR_DETAILS);
    expect(e.details?.slice(0, 3)).toEqual(['/instances/0/worst_symmetry: must be a number, got string', '/instances/0/mean_radius: is required', '/instances/0/mean_texture: is required']);
    expect(e.details?.[MAX_ERROR_DETAILS - 1]).toBe(`… ${26 - (MAX_ERROR_DETAILS - 1)} more problems not shown`);
    expect(e.message).toBe('invalid request for model "breast-cancer": /instances/0/worst_symmetry: must be a number, got string (26 problems)');
    // Across instances too: 63 instances each missing a feature, the last one also out of range.
    const rows = Array.from({ length: 64 }, (_, i) => without(valid(i), 'se_texture'));
    rows[63] = { ...valid(63), mean_area: -1, se_radius: 7 };
    const many = refused(mapCancer, { instances: rows });
    expect(many.details?.slice(0, 3)).toEqual(['/instances/63/mean_area: must be >= 0', '/instances/63/se_radius: must be <= 6', '/instances/0/se_texture: is required']);
    expect(many.details?.[MAX_ERROR_DETAILS - 1]).toBe(`… ${65 - (MAX_ERROR_DETAILS - 1)} more problems not shown`);
  });

  it('envelope first, then instance by instance in column order, unknown keys after the columns', () => {
    const instances = [
      without(valid(0), 'worst_area'),
      { ...valid(1), zzz: 1, worst_texture: 'x', mean_texture: -1, aaa: 2 },
      { ...valid(2), se_radius: 99 },
    ];
    expect(detailsOf(mapCancer, { id: 7, instances })).toEqual([
      '/id: must be a string, got 7',
      '/instances/1/mean_texture: must be >= 0',
      '/instances/1/worst_texture: must be a number, got string',
      '/instances/1/zzz: is not a feature of this model',
      '/instances/1/aaa: is not a feature of this model',
      '/instances/2/se_radius: must be <= 6',
      '/instances/0/worst_area: is required',
    ]);
    expect(detailsOf(mapToy, { instances: [{ age: 1 }, { age: 'old', grade: 'top' }] })).toEqual([
      '/instances/1/age: must be an integer, got string',
      '/instances/1/grade: must be one of "low", "mid", "high"',
      '/instances/0/grade: is required',
    ]);
  });

  it('suggests a missing feature of the same instance: up to 2 edits, or equal but for case, "_" and "-"', () => {
    const suggested = (key: string, drop = 'mean_radius') => detailsOf(mapCancer, { instances: [{ ...without(valid(0), drop), [key]: 1 }] });
    for (const key of ['mean_radus', 'maen_radius', 'mean_rdus', 'Mean_Radius', 'MEAN-RADIUS', 'meanradius', 'mean__radius_']) {
      expect(suggested(key)).toEqual([`/instances/0/${key}: is not a feature of this model; did you mean "mean_radius"?`, `/instances/0/mean_radius: is required (misspelt as "${key}"?)`]);
    }
    // Three edits away: no suggestion.
    expect(suggested('mean_rdu')).toEqual(['/instances/0/mean_rdu: is not a feature of this model', '/instances/0/mean_radius: is required']);
    // Near a feature that is present, not missing: nothing to suggest.
    expect(detailsOf(mapCancer, { instances: [{ ...valid(0), mean_radus: 1 }] })).toEqual(['/instances/0/mean_radus: is not a feature of this model']);
    // Only within one instance: the typo in instance 0 is not offered for the gap in instance 1.
    expect(detailsOf(mapCancer, { instances: [{ ...valid(0), mean_radus: 1 }, without(valid(1), 'mean_radius')] })).toEqual([
      '/instances/0/mean_radus: is not a feature of this model',
      '/instances/1/mean_radius: is required',
    ]);
    // Two typos, two gaps: each key is paired with its own feature.
    const two = { ...without(valid(0), 'mean_area', 'worst_symmetry'), worst_symetry: 0.3, mean_aera: 500 };
    expect(detailsOf(mapCancer, { instances: [two] })).toEqual([
      '/instances/0/worst_symetry: is not a feature of this model; did you mean "worst_symmetry"?',
      '/instances/0/mean_aera: is not a feature of this model; did you mean "mean_area"?',
      '/instances/0/mean_area: is required (misspelt as "mean_aera"?)',
      '/instances/0/worst_symmetry: is required (misspelt as "worst_symetry"?)',
    ]);
    // Two keys near one gap (2 edits, sent first; 1 edit): both suggest it, its line points back to the nearer.
    expect(detailsOf(mapCancer, { instances: [{ ...without(valid(0), 'mean_radius'), mean_radiusxx: 1, mean_radiu: 2 }] })).toEqual([
      '/instances/0/mean_radiusxx: is not a feature of this model; did you mean "mean_radius"?',
      '/instances/0/mean_radiu: is not a feature of this model; did you mean "mean_radius"?',
      '/instances/0/mean_radius: is required (misspelt as "mean_radiu"?)',
    ]);
    // A short name is not matched by a key sharing none of it (`x` is never taken for `y`).
    expect(detailsOf(mapToy, { instances: [{ age: 1, gr: 'low' }] })).toEqual([
      '/instances/0/gr: is not a feature of this model',
      '/instances/0/grade: is required',
    ]);
    expect(detailsOf(mapToy, { instances: [{ age: 1, grad: 'low' }] })).toEqual([
      '/instances/0/grad: is not a feature of this model; did you mean "grade"?',
      '/instances/0/grade: is required (misspelt as "grad"?)',
    ]);
  });

  it('the banded edit distance agrees with the full Levenshtein table wherever it is at most 2', () => {
    const full = (a: string, b: string): number => {
      let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
      for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), prev[j]! + 1, cur[j - 1]! + 1);
        prev = cur;
      }
      return prev[b.length]!;
    };
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const word = () => Array.from({ length: rand(9) }, () => 'ab_'[rand(3)]).join('');
    const seen = new Set<number>();
    for (let k = 0; k < 5000; k++) {
      const a = word();
      const b = rand(2) === 0 ? word() : a.slice(0, rand(a.length + 1)) + 'ab'[rand(2)] + a.slice(rand(a.length + 1));
      const want = Math.min(full(a, b), 3);
      expect(editDistance(a, b), `${a} / ${b}`).toBe(want);
      seen.add(want);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});
