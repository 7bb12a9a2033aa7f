// The addon's plain form (src/native/kinds.ts, LiftData; src/codec/json-lift.ts): a body of only
// id and inputs {name, shape, datatype, data}, at any size, comes back as the whole tree, built
// without JSON.parse. It must be the tree JSON.parse gives (keys in body order, the same values)
// with data as the typed array, and every body that is not plain must take the other paths with
// the same outcome as without the addon.
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../src/codec/json-body.js';
import { Lifted, liftData } from '../src/codec/json-lift.js';
import { selectNativeCore } from '../src/native/core.js';
import type { DataType } from '../src/types.js';
import type { ModelSignature } from '../src/validation/request-validator.js';
import { both, DATATYPES, mutate, randomInput, signature } from './helpers/decode-compare.js';
import { prng } from './helpers/third-party.js';

const hasAddon = selectNativeCore(false).impl === 'addon';
selectNativeCore(true);

/** Whether the addon takes the body in its plain form (the tree comes back whole). */
function isPlain(body: Buffer): boolean {
  selectNativeCore(false);
  try {
    const got = liftData(body, 16);
    return got !== undefined && !(got instanceof Lifted);
  } finally {
    selectNativeCore(true);
  }
}

/** The tree's keys and values in order, with each `data` left out (both() compares data bit for bit). */
function structure(tree: unknown): string {
  return JSON.stringify(tree, (k, v: unknown) => (k === 'data' ? `<${ArrayBuffer.isView(v) ? 'typed' : typeof v}>` : v));
}

/** Checks one body: same outcome with and without the addon, and plain or not as expected. */
function check(text: string | Buffer, sig: ModelSignature, plain: boolean): void {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  const label = b.toString('utf8');
  const r = both(b, sig);
  expect(r.addon, label).toEqual(r.fallback);
  expect(isPlain(b), label).toBe(plain);
  if (plain) {
    selectNativeCore(false);
    const tree = parseJsonBody(b);
    selectNativeCore(true);
    expect(structure(tree).replaceAll('<typed>', '<object>'), label).toBe(structure(JSON.parse(label)));
    expect(structure(tree), label).toContain('<typed>');
  }
}

const INPUT_KEYS = ['name', 'shape', 'datatype', 'data'] as const;

function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe.skipIf(!hasAddon)('native decode, plain form: the whole tree without JSON.parse, as JSON.parse builds it', () => {
  it('takes small and large plain bodies of every datatype, in any key order, with or without an id', () => {
    const values: Record<DataType, string> = {
      BOOL: '[true,false,true,false]',
      UINT8: '[0,255,7,8]',
      INT8: '[-128,127,0,-0]',
      INT16: '[32767,-32768,1,2]',
      INT32: '[2147483647,-2147483648,1e3,4]',
      INT64: '[9007199254740991,-9007199254740991,0,1]',
      FP32: '[0.1,-0,1e-45,3.4028234663852886e38]',
      FP64: '[0.1,5e-324,1.7976931348623157e308,0.30000000000000004]',
    };
    for (const dt of DATATYPES) {
      const sig = signature(dt, [2, 2]);
      const flat = `{"id":"r-${dt}","inputs":[{"name":"x","shape":[2,2],"datatype":"${dt}","data":${values[dt]}}]}`;
      check(flat, sig, true);
      const parts = values[dt].slice(1, -1).split(',');
      check(`{"inputs":[{"name":"x","shape":[2,2],"datatype":"${dt}","data":[[${parts.slice(0, 2)}],[${parts.slice(2)}]]}]}`, sig, true);
    }
    const fields = { name: '"x"', shape: '[1,4]', datatype: '"FP32"', data: '[1,2.5,-3,4e-3]' };
    for (const order of permutations(INPUT_KEYS)) {
      const input = `{${order.map((k) => `"${k}":${fields[k]}`).join(',')}}`;
      check(`{"inputs":[${input}],"id":""}`, signature('FP32', [1, 4]), true);
    }
    check(' \n{ "id" : "a" ,\t"inputs" : [ { "name" : "x" , "shape" : [ 4 ] , "datatype" : "FP32" , "data" : [ 1 , 2 , 3 , 4 ] } ] }\r\n', signature('FP32', [4]), true);
    const big = Array.from({ length: 150_528 }, (_, i) => (i % 255) / 255);
    check(JSON.stringify({ id: 'big', inputs: [{ name: 'x', shape: [1, 150_528], datatype: 'FP32', data: big }] }), signature('FP32', [1, 150_528]), true);
    const two: ModelSignature = {
      name: 'm',
      inputs: [{ name: 'a', datatype: 'INT64', shape: [2] }, { name: 'b', datatype: 'FP64', shape: [1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
      maxBatchSize: 0,
    };
    check('{"inputs":[{"name":"a","shape":[2],"datatype":"INT64","data":[1,2]},{"name":"b","shape":[1,2],"datatype":"FP64","data":[[0.5,0.25]]}]}', two, true);
  });

  it('reads numbers exactly as JSON.parse does, on its short path and off it', () => {
    const texts = [
      '0.1', '1e22', '1e23', '-0', '-0.0', '0e5000', '123456789012345', '1234567890123456', '9007199254740993',
      '1.5e-22', '1.5e-23', '0.000000000000000000001', '4.9e-324', '2.2250738585072014e-308', '1E+2', '1e-0',
      '179769313486231570000000000000000000000', '100000000000000000000000', '0.30000000000000004', '3.14159',
      '-17.99', '0.1184', '99999999999999.9', '999999999999999e-22', '1e-22', '7e22',
    ];
    for (const t of texts) {
      check(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[${t},1]}]}`, signature('FP64', [2]), true);
      check(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[${t},1]}]}`, signature('FP32', [2]), true);
    }
    // Doubles and float32s widened to double, as clients print them: 16 or 17 significant digits.
    const rnd = prng(7);
    const many = Array.from({ length: 400 }, (_, i) => {
      const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 4);
      return String(i % 2 === 0 ? v : Math.fround(v));
    });
    check(`{"inputs":[{"name":"x","shape":[400],"datatype":"FP64","data":[${many.join(',')}]}]}`, signature('FP64', [400]), true);
    for (const t of ['1e400', '-1e400', '1e-400', '01', '1.', '.5', '+1', '1e', '1e+', '-', '1.5e3.2']) {
      check(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[${t},1]}]}`, signature('FP64', [2]), false);
    }
  });

  it('leaves every other body to the other paths, with the same outcome as without the addon', () => {
    const sig = signature('FP32', [4]);
    const input = (over: Record<string, string> = {}, extra = ''): string => {
      const f: Record<string, string> = { name: '"x"', shape: '[4]', datatype: '"FP32"', data: '[1,2,3,4]', ...over };
      return `{${Object.entries(f).map(([k, v]) => `"${k}":${v}`).join(',')}${extra}}`;
    };
    const cases: string[] = [
      `{"id":7,"inputs":[${input()}]}`,
      `{"id":"a\\n","inputs":[${input()}]}`,
      `{"id":"é","inputs":[${input()}]}`,
      `{"id":"a","id":"b","inputs":[${input()}]}`,
      `{"inputs":[${input({ name: '"é"' })}]}`,
      `{"inputs":[${input({ name: '"x\\u0041"' })}]}`,
      `{"inputs":[${input({ name: '7' })}]}`,
      `{"inputs":[${input({}, ',"name":"y"')}]}`,
      `{"inputs":[${input({}, ',"shape":[2,2]')}]}`,
      `{"inputs":[${input({}, ',"parameters":{}')}]}`,
      `{"inputs":[${input()}],"parameters":{}}`,
      `{"inputs":[${input()}],"outputs":[{"name":"y"}]}`,
      `{"inputs":[${input({ shape: '4' })}]}`,
      `{"inputs":[${input({ shape: '[[4]]' })}]}`,
      `{"inputs":[${input({ shape: '["4"]' })}]}`,
      `{"inputs":[${input({ shape: '[3]' })}]}`,
      `{"inputs":[${input({ shape: '[2,2]', data: '[[1,2,3],[4]]' })}]}`,
      `{"inputs":[${input({ shape: '[4,1]', data: '[[1,2],[3,4]]' })}]}`,
      `{"inputs":[${input({ shape: '[1e400]' })}]}`,
      `{"inputs":[${input({ shape: '[4.5]' })}]}`,
      `{"inputs":[${input({ shape: '[-4]' })}]}`,
      `{"inputs":[${input({ datatype: '"FP16"' })}]}`,
      `{"inputs":[${input({ data: '[1,2,3,1e39]' })}]}`,
      `{"inputs":[${input({ data: '[1,2,3,null]' })}]}`,
      `{"inputs":[${input({ data: '"1,2,3,4"' })}]}`,
      `{"inputs":[{"shape":[4],"datatype":"FP32","data":[1,2,3,4]}]}`,
      `{"inputs":[{"name":"x","datatype":"FP32","data":[1,2,3,4]}]}`,
      `{"inputs":[],"id":"a"}`,
      `{"inputs":{}}`,
      `{"inputs":[${input()},7]}`,
      `{"id":"a"}`,
      '{}',
      `{"inputs":[${input()}]} x`,
      `[{"inputs":[${input()}]}]`,
    ];
    for (const text of cases) check(text, sig, false);
    // Bytes no ASCII body holds: invalid UTF-8 in a name, and a leading BOM.
    check(Buffer.concat([Buffer.from('{"inputs":[{"name":"'), Buffer.from([0xff]), Buffer.from('","shape":[4],"datatype":"FP32","data":[1,2,3,4]}]}')]), sig, false);
    check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"inputs":[${input()}]}`)]), sig, false);
    check(`{"inputs":[${input({ data: `${'['.repeat(20)}1${']'.repeat(20)}` })}]}`, sig, false);
  });

  it('a fuzz pass over small bodies (random and mutated, 2 s): no crash, and addon and fallback agree on every one', () => {
    const rnd = prng(20261207);
    const until = performance.now() + 2000;
    let cases = 0;
    let plain = 0;
    while (performance.now() < until) {
      const { dt, shape, data } = randomInput(rnd, { flat: 20, rows: 4, cols: 6 });
      const fields: [string, unknown][] = [['name', 'x'], ['shape', shape], ['datatype', dt], ['data', data]];
      fields.sort(() => rnd() - 0.5);
      const req: Record<string, unknown> = { inputs: [Object.fromEntries(fields)] };
      let text = JSON.stringify(rnd() < 0.5 ? { id: `f${cases}`, ...req } : req);
      if (rnd() < 0.5) text = mutate(text, rnd);
      const b = Buffer.from(text);
      const r = both(b, signature(dt, shape));
      expect(r.addon, text).toEqual(r.fallback);
      if (isPlain(b)) plain++;
      cases++;
    }
    expect(cases).toBeGreaterThan(200);
    expect(plain).toBeGreaterThan(cases / 10);
  });
});
