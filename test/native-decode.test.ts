// The native core's decode (liftData, src/codec/json-lift.ts) against the plain JSON.parse path:
// every body, parsed and validated with the addon, gives the same request (tensors bit for bit)
// or the same error (code, message, details) as with the fallback. A corpus of hand-made edge
// cases, then a fuzz pass bounded in time over random and mutated bodies.
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { LIFT_MIN_BYTES } from '../src/codec/json-lift.js';
import { selectNativeCore } from '../src/native/core.js';
import type { DataType } from '../src/types.js';
import { compileRequestValidator, type ModelSignature } from '../src/validation/request-validator.js';
import { both, DATATYPES, mutate, randomInput, rebuild, signature } from './helpers/decode-compare.js';
import { prng } from './helpers/third-party.js';

const hasAddon = selectNativeCore(false).impl === 'addon';
selectNativeCore(true);

/** Pads a body's text past LIFT_MIN_BYTES with a request parameter, so the addon is asked to lift it. */
function padded(json: string): Buffer {
  const pad = 'p'.repeat(LIFT_MIN_BYTES);
  return Buffer.from(json.replace(/^\s*\{/, `{"parameters":{"pad":"${pad}"},"id":"r1",`));
}

function body(datatype: string, shape: unknown, data: string, extra = ''): Buffer {
  return padded(`{"inputs":[{"name":"x","shape":${JSON.stringify(shape)},"datatype":"${datatype}","data":${data}${extra}}]}`);
}

describe.skipIf(!hasAddon)('native decode: the addon lifts what the validator takes as is, and agrees everywhere', () => {
  it('lifts flat and nested data of every datatype into its typed array, bit for bit as JSON.parse reads it', () => {
    const cases: [DataType, string][] = [
      ['FP32', '[0.1,-0,1e-45,3.4028234663852886e38,-1.5e-7,123456789012345678901234567890]'],
      ['FP64', '[0.1,-0,5e-324,1.7976931348623157e308,2.2250738585072014e-308,0.30000000000000004]'],
      ['INT64', '[9007199254740991,-9007199254740991,-0,0,1e3,42]'],
      ['INT32', '[2147483647,-2147483648,0,-0,7,1E2]'],
      ['INT16', '[32767,-32768,0,1,2,3]'],
      ['INT8', '[127,-128,0,1,2,3]'],
      ['UINT8', '[255,0,1,2,3,4]'],
      ['BOOL', '[true,false,true,true,false,false]'],
    ];
    for (const [dt, data] of cases) {
      for (const [shape, text] of [
        [[6], data],
        [[2, 3], ` ${rebuild(data, 3).replace(/,/g, ' ,\n\t')} `],
      ] as const) {
        const r = both(body(dt, shape, text), signature(dt, [...shape]));
        expect(r.lifted, `${dt} ${JSON.stringify(shape)}`).toBe(true);
        expect(r.addon).toEqual(r.fallback);
        expect(r.addon).not.toHaveProperty('code');
      }
    }
  });

  it('lifts bodies bigger than its kept scratch (grown once, or a one-off past 8 MiB) and several inputs in one body', () => {
    for (const n of [150_528, 1_200_000]) {
      const ints = Array.from({ length: n }, (_, i) => (i * 7919) % 101);
      const sig: ModelSignature = {
        name: 'm',
        inputs: [{ name: 'a', datatype: 'INT16', shape: [n] }, { name: 'b', datatype: 'FP64', shape: [2, 2] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
        maxBatchSize: 0,
      };
      const b = Buffer.from(JSON.stringify({ inputs: [
        { name: 'a', shape: [n], datatype: 'INT16', data: ints },
        { name: 'b', shape: [2, 2], datatype: 'FP64', data: [[0.1, 0.2], [1e300, -5e-324]] },
      ] }));
      selectNativeCore(false);
      const tree = parseJsonBody(b) as { inputs: { data: unknown }[] };
      expect(tree.inputs[0]?.data).toBeInstanceOf(Int16Array);
      expect(tree.inputs[1]?.data).toEqual(new Float64Array([0.1, 0.2, 1e300, -5e-324]));
      const req = compileRequestValidator(sig)(tree);
      expect(Array.from(req.inputs[0]!.data as Int16Array)).toEqual(ints);
      selectNativeCore(true);
    }
  });

  it('the addon refuses arguments of the wrong kind with a TypeError', () => {
    const core = selectNativeCore(false);
    selectNativeCore(true);
    const ok = [Buffer.from('{}'), 16, new Uint8Array(8), new Float64Array(8), false] as const;
    expect(() => core.liftData(...ok)).not.toThrow();
    expect(() => core.liftData('{}' as unknown as Uint8Array, 16, ok[2], ok[3], false)).toThrow(TypeError);
    expect(() => core.liftData(ok[0], 16, new Float64Array(8) as unknown as Uint8Array, ok[3], false)).toThrow(TypeError);
    expect(() => core.liftData(ok[0], 16, ok[2], new Float32Array(8) as unknown as Float64Array, false)).toThrow(TypeError);
    expect(() => core.liftData(ok[0], 16, ok[2], ok[3], 1 as unknown as boolean)).toThrow(TypeError);
  });

  it('leaves to JSON.parse, with the same errors, what it does not take', () => {
    const sig = (dt: DataType, shape = [6]) => signature(dt, shape);
    const cases: [Buffer, ModelSignature][] = [
      [body('INT8', [6], '[1,2,3,4,5,200]'), sig('INT8')],
      [body('INT32', [6], '[1,2,3,4,5,1.5]'), sig('INT32')],
      [body('INT64', [6], '[1,2,3,4,5,9007199254740992]'), sig('INT64')],
      [body('UINT8', [6], '[1,2,3,4,5,-1]'), sig('UINT8')],
      [body('FP32', [6], '[1,2,3,4,5,1e39]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,1e400]'), sig('FP32')],
      [body('FP64', [6], '[1,2,3,4,5,-1e400]'), sig('FP64')],
      [body('FP64', [6], '[1,2,3,4,5,1e-400]'), sig('FP64')],
      [body('FP32', [6], '[1,2,3,4,5,null]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,"6"]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,true]'), sig('FP32')],
      [body('BOOL', [6], '[true,false,true,false,true,1]'), sig('BOOL')],
      [body('FP32', [6], '[1,2,3,4,5]'), sig('FP32')],
      [body('FP32', [2, 3], '[[1,2,3],[4,5]]'), sig('FP32', [2, 3])],
      [body('FP32', [2, 3], '[[1,2,3],4,5,6]'), sig('FP32', [2, 3])],
      [body('FP32', [2, 3], '[[1,2],[3,4],[5,6]]'), sig('FP32', [2, 3])],
      [body('FP32', [6], '[[1,2,3],[4,5,6]]'), sig('FP32')],
      [body('FP32', [1], '[[1]]'), sig('FP32', [1])],
      [body('FP32', [2, 3], '[[1,2,3],[[4],5,6]]'), sig('FP32', [2, 3])],
      [body('FP32', [0], '[]'), sig('FP32', [0])],
      [body('FP32', [2, 3], '[[],[]]'), sig('FP32', [2, 3])],
      [body('FP32', [6], '[1,2,3,4,5,6]', ',"data":[1,2,3,4,5,7]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,6]', ',"datatype":"FP64"'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,6]', ',"d\\u0061ta":[6,5,4,3,2,1]'), sig('FP32')],
      [body('FP64', [6], '[1,2,3,4,5,6]'), sig('FP32')],
      [body('F\\u0050\\u00332', [6], '[1,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [-1], '[1,2,3,4,5,6]'), sig('FP32', [-1])],
      [body('FP32', [6], '[1,2,3,4,5,6]', ',"__proto__":1'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,6]', ',"parameters":{"constructor":1}'), sig('FP32')],
      [body('FP32', [6], '[01,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[1.,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[.5,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[+1,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[NaN,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[-Infinity,2,3,4,5,6]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,6,]'), sig('FP32')],
      [body('FP32', [6], '[1,2,3,4,5,6'), sig('FP32')],
      [Buffer.concat([body('FP32', [6], '[1,2,3,4,5,6]'), Buffer.from(' x')]), sig('FP32')],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body('FP32', [6], '[1,2,3,4,5,6]')]), sig('FP32')],
      [padded(`{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":${'['.repeat(20)}1${']'.repeat(20)}}]}`), sig('FP32')],
      [padded(`{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":[1,2,3,4,5,6]}],"inputs":[]}`), sig('FP32')],
      [padded(`{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":[1,2,3,4,5,6],"parameters":{"s":"\u00e9\\n\\u00e9"}}]}`), sig('FP32')],
    ];
    const codes = new Set<string>();
    for (const [b, s] of cases) {
      const r = both(b, s);
      codes.add((r.fallback as { code?: string }).code ?? 'ok');
      expect(r.addon, b.toString('utf8').slice(LIFT_MIN_BYTES + 30, LIFT_MIN_BYTES + 200)).toEqual(r.fallback);
    }
    expect([...codes].sort()).toEqual([
      'SLUICE_ERR_INPUT_DATATYPE', 'SLUICE_ERR_INPUT_DATA_LENGTH', 'SLUICE_ERR_INPUT_DATA_TYPE', 'SLUICE_ERR_INPUT_NON_FINITE',
      'SLUICE_ERR_INPUT_OUT_OF_RANGE', 'SLUICE_ERR_INPUT_SHAPE', 'SLUICE_ERR_JSON_FORBIDDEN_KEY', 'SLUICE_ERR_JSON_MALFORMED',
      'SLUICE_ERR_JSON_TOO_DEEP', 'SLUICE_ERR_REQUEST_INVALID', 'ok',
    ].sort());
  });

  it('a lifted body skips the key and depth pre-scans only when its scan saw no suspect key: same outcomes as JSON.parse', () => {
    const sig = signature('FP32', [6]);
    // In the input's parameters (depth 4: body, inputs, input, parameters), which the validator lets through.
    const withExtra = (extra: string): Buffer => padded(`{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":[1,2,3,4,5,6],"parameters":{${extra}}}]}`);
    const nest = (levels: number, inner: string): string => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;
    const cases: [Buffer, string, boolean][] = [
      // [body, expected code, lifted]
      [withExtra(`"deep":${nest(12, '1')}`), 'ok', true], // depth 16, the limit
      [withExtra(`"deep":${nest(13, '1')}`), 'SLUICE_ERR_JSON_TOO_DEEP', false],
      [withExtra(`"deep":[${nest(11, '[1]')}]`), 'SLUICE_ERR_JSON_TOO_DEEP', false],
      [withExtra(`"deep":${nest(3, '{"__proto__":{"x":1}}')}`), 'SLUICE_ERR_JSON_FORBIDDEN_KEY', true],
      [withExtra(`"deep":${nest(3, '{"\\u005f_proto__":1}')}`), 'SLUICE_ERR_JSON_FORBIDDEN_KEY', true],
      [withExtra(`"deep":{"prototype":[1]}`), 'SLUICE_ERR_JSON_FORBIDDEN_KEY', true],
      [withExtra(`"deep":{"x\\u0041":{"constructor":1}}`), 'SLUICE_ERR_JSON_FORBIDDEN_KEY', true],
      [withExtra(`"deep":{"x\\u0041":1,"s":"__proto__"}`), 'ok', true], // an escaped harmless key; the word only as a value
    ];
    for (const [b, code, lifted] of cases) {
      const r = both(b, sig);
      const text = b.toString('utf8').slice(LIFT_MIN_BYTES + 30);
      expect(r.addon, text).toEqual(r.fallback);
      expect((r.fallback as { code?: string }).code ?? 'ok', text).toBe(code);
      if (code === 'ok') expect(r.lifted, text).toBe(lifted);
    }
  });

  it('a fuzz pass (random and mutated bodies, 3 s): no crash, and addon and fallback agree on every one', () => {
    const rnd = prng(20261203);
    const until = performance.now() + 3000;
    let cases = 0;
    let lifted = 0;
    const seen = new Set<string>();
    while (performance.now() < until) {
      const { dt, shape, data } = randomInput(rnd, { flat: 40, rows: 6, cols: 8 });
      let text = JSON.stringify({ inputs: [{ name: 'x', shape, datatype: dt, data }] });
      if (rnd() < 0.5) text = mutate(text, rnd);
      const b = padded(text);
      const r = both(b, signature(dt, shape));
      if (r.lifted) lifted++;
      expect(r.addon, text).toEqual(r.fallback);
      seen.add((r.fallback as { code?: string }).code ?? 'ok');
      cases++;
    }
    expect(cases).toBeGreaterThan(200);
    expect(lifted).toBeGreaterThan(cases / 10);
    // The corpus reaches the validator's element and length rules, not only the parser.
    for (const code of ['ok', 'SLUICE_ERR_JSON_MALFORMED', 'SLUICE_ERR_INPUT_OUT_OF_RANGE', 'SLUICE_ERR_INPUT_DATA_TYPE', 'SLUICE_ERR_INPUT_NON_FINITE']) {
      expect(seen).toContain(code);
    }
  });
});
