// Issue 3: what does it cost sluice to decode and validate one large input, per wire format?
// In process, no server: the exact functions the data plane calls (dist/src, compiled from src/)
// on one [1,3,224,224] FP32 tensor (150,528 floats) sent as
//   OIP JSON          parseJsonBody(bytes)          + the model's compiled validator
//   msgpack           decodeMsgpackBody(bytes)      + validator (data: Float32Array, msgpackr typed array)
//   binary extension  decodeBinaryRequest(bytes, n) + validator (JSON header + 602,112 raw bytes)
// Values are ImageNet-style normalised pixels computed in float32; the JSON body prints each as
// JavaScript does a float32 widened to double (what numpy's tolist() + json.dumps sends, ~19 chars).
import { Packr } from 'msgpackr';
import { decodeBinaryRequest } from '../../src/codec/binary-request.js';
import { parseJsonBody } from '../../src/codec/json-body.js';
import { decodeMsgpackBody } from '../../src/codec/msgpack-body.js';
import { compileRequestValidator, type DecodedInfer, type ModelSignature } from '../../src/validation/request-validator.js';
import { defineScenario, type Goal } from '../lib/registry.js';
import { fx } from '../lib/side-by-side.js';
import { formatSpread, type Spread, spread } from '../lib/stats.js';

const SHAPE = [1, 3, 224, 224];
const COUNT = 3 * 224 * 224;

const SIGNATURE: ModelSignature = {
  name: 'image-classifier',
  inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
  maxBatchSize: 8,
};

/** Deterministic "photo": smooth gradients plus noise, normalised per channel as torchvision does. */
function image(): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const x = new Float32Array(COUNT);
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 224 * 224; i++) {
      const px = Math.min(255, Math.max(0, Math.round(((i % 224) + Math.floor(i / 224)) * 0.55 + c * 20 + rnd() * 40)));
      x[c * 224 * 224 + i] = Math.fround((px / 255 - mean[c]!) / std[c]!);
    }
  }
  return x;
}

interface Format {
  label: string;
  bytes: Buffer;
  decode(): DecodedInfer;
}

function formats(): Format[] {
  const validate = compileRequestValidator(SIGNATURE);
  const data = image();
  const json = Buffer.from(JSON.stringify({ id: 'img-1', inputs: [{ name: 'image', datatype: 'FP32', shape: SHAPE, data: Array.from(data) }] }));
  const msgpack = Buffer.from(
    new Packr({ useRecords: false, moreTypes: true }).pack({ id: 'img-1', inputs: [{ name: 'image', datatype: 'FP32', shape: SHAPE, data }] }),
  );
  const header = Buffer.from(JSON.stringify({
    id: 'img-1',
    inputs: [{ name: 'image', datatype: 'FP32', shape: SHAPE, parameters: { binary_data_size: data.byteLength } }],
  }));
  const binary = Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  return [
    { label: 'OIP JSON', bytes: json, decode: () => validate(parseJsonBody(json)) },
    { label: 'msgpack (Float32Array)', bytes: msgpack, decode: () => validate(decodeMsgpackBody(msgpack)) },
    { label: 'binary tensor extension', bytes: binary, decode: () => validate(decodeBinaryRequest(binary, header.length)) },
  ];
}

/** Runs `f` for about `ms` (at least 3 calls); µs per call. */
function timeBatch(f: () => DecodedInfer, ms: number): { usPerOp: number; ops: number } {
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms || ops < 3) {
    const d = f();
    if (d.rows !== 1) throw new Error('decode produced the wrong batch');
    ops++;
    t = performance.now();
  }
  return { usPerOp: ((t - t0) * 1000) / ops, ops };
}

export default defineScenario({
  name: 'decode-cost',
  order: 61,
  description: 'Decode + validate one 150,528-float input (1×3×224×224 FP32): OIP JSON vs msgpack vs binary tensor extension, in process.',
  async run(ctx) {
    const fs = formats();
    // Correctness first: every format must give the same tensor, bit for bit.
    const ref = fs[0]!.decode().inputs[0]!.data as Float32Array;
    for (const f of fs.slice(1)) {
      const got = f.decode().inputs[0]!.data as Float32Array;
      if (got.length !== COUNT || Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(ref.buffer, ref.byteOffset, ref.byteLength)) !== 0) {
        throw new Error(`${f.label} decodes to a different tensor than JSON`);
      }
    }
    const batchMs = ctx.quick ? 150 : 400;
    const rounds = ctx.quick ? 5 : 9;
    for (const f of fs) timeBatch(f.decode, batchMs); // warm-up (JIT, allocator)
    const us = new Map<string, number[]>(fs.map((f) => [f.label, []]));
    for (let r = 0; r < rounds; r++) {
      for (const f of fs) us.get(f.label)!.push(timeBatch(f.decode, batchMs).usPerOp);
      ctx.log(`  round ${r + 1}/${rounds} ${fs.map((f) => `${f.label} ${us.get(f.label)![r]!.toFixed(1)} µs`).join('  ')}`);
    }
    const json = us.get('OIP JSON')!;
    const perFormat = fs.map((f) => {
      const u = us.get(f.label)!;
      return {
        label: f.label,
        bytes: f.bytes.length,
        usPerOp: spread(u),
        mbPerS: spread(u.map((x) => f.bytes.length / x)), // bytes/µs = MB/s
        mFloatsPerS: spread(u.map((x) => COUNT / x)), // floats/µs = M floats/s
        // Throughput ratio to JSON per round: JSON µs ÷ this µs.
        vsJson: spread(u.map((x, i) => json[i]! / x)),
      };
    });
    const binary = perFormat.find((p) => p.label === 'binary tensor extension')!;
    const fmtX = (s: Spread): string => `${fx(s.median)} (${fx(s.min)}–${fx(s.max)})`;
    const goals: Goal[] = [
      { name: 'decode + validate 150,528 floats: binary extension vs JSON throughput', target: '≥ 10x', measured: fmtX(binary.vsJson), met: binary.vsJson.median >= 10 },
    ];
    return {
      summary:
        `In process, no server: sluice's own decoders (parseJsonBody, decodeMsgpackBody, decodeBinaryRequest) plus the ` +
        `validator compileRequestValidator builds for a [-1,3,224,224] FP32 input, on one 150,528-float image. Every ` +
        `format is checked to give the identical tensor first. Warm-up, then ${rounds} rounds alternating the three ` +
        `formats, each a batch of ≈ ${batchMs} ms of back-to-back calls; medians (min–max) of the per-batch µs/op. ` +
        `MB/s counts the body's own bytes (formats differ in size); M floats/s counts tensor elements (same for all). ` +
        `Ratios are per round (JSON µs ÷ format µs). Garbage collection caused by a format counts against it.`,
      tables: [
        {
          title: 'decode + validate one [1,3,224,224] FP32 input',
          columns: ['format', 'body bytes', 'µs/op', 'MB/s (body)', 'M floats/s', 'throughput vs JSON'],
          rows: perFormat.map((p) => [
            p.label, p.bytes.toLocaleString('en-US'), formatSpread(p.usPerOp, 1), formatSpread(p.mbPerS), formatSpread(p.mFloatsPerS, 1), fmtX(p.vsJson),
          ]),
        },
      ],
      goals,
      charts: [],
      data: { shape: SHAPE, rounds, batchMs, perFormat, samplesUs: Object.fromEntries(us) },
    };
  },
});
