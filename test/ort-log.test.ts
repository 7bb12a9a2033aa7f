// ONNX Runtime's own log in the real process: never raw on stdout or stderr, only as JSON app-log
// lines ("onnxruntime: <text>") naming the model and version, filtered by --ort-log-level.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unusedInitializerModel } from './helpers/onnx-fixtures.js';
import { getJson, MODELS } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const ESC = '\x1b';
const REMOVING = "onnxruntime: Removing initializer 'stale_weight'. It is not used by any node and should be removed from the model.";

let dir: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-ort-log-'));
  // As in inspect.test.ts: Relu(x) plus an initializer no node reads, which ORT removes at load
  // with a warning. No model.json: its config comes from the graph.
  await mkdir(path.join(dir, 'unused-initializer/1'), { recursive: true });
  await writeFile(
    path.join(dir, 'unused-initializer/1/model.onnx'),
    unusedInitializerModel(),
  );
  await mkdir(path.join(dir, 'digits/1'), { recursive: true });
  await copyFile(path.join(MODELS, 'digits/model.json'), path.join(dir, 'digits/model.json'));
  await copyFile(path.join(MODELS, 'digits/1/model.onnx'), path.join(dir, 'digits/1/model.onnx'));
});

afterAll(async () => {
  for (const s of started) s.child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Runs the server until both models serve, stops it with SIGTERM and returns what it wrote. */
async function runServer(extraArgs: string[]): Promise<ServerProcess> {
  const s = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', dir, '--workers', '1', ...extraArgs]);
  started.push(s);
  const port = await Promise.race([s.port, s.exited.then((e) => Promise.reject(new Error(`exited early: ${JSON.stringify(e)} ${s.stderr.join('')}`)))]);
  await waitFor(async () => (await getJson(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => ({ status: 0 }))).status === 200, 30_000);
  for (const m of ['digits', 'unused-initializer']) {
    expect((await getJson(`http://127.0.0.1:${port}/v2/models/${m}/ready`)).status).toBe(200);
  }
  s.child.kill('SIGTERM');
  expect(await s.exited).toEqual({ code: 0, signal: null });
  await s.closed;
  return s;
}

function expectOnlyJson(s: ServerProcess): void {
  expect(s.stdoutLines.length).toBeGreaterThan(0);
  for (const line of s.stdoutLines) {
    expect(line).not.toContain(ESC);
    expect(() => JSON.parse(line), line).not.toThrow();
  }
  expect(s.stderrChunks.join('')).toBe('');
  expect(s.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'stopped']));
}

const ortLines = (s: ServerProcess) => s.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('onnxruntime: '));

describe('ONNX Runtime log in the real process', () => {
  it('at the default level: the unused-initializer warning is one JSON line with model, version and ort severity', async () => {
    const s = await runServer([]);
    expectOnlyJson(s);
    const removing = ortLines(s).filter((l) => String(l.msg).startsWith('onnxruntime: Removing initializer'));
    expect(removing).toEqual([
      expect.objectContaining({
        level: 40,
        msg: REMOVING,
        model: 'unused-initializer',
        version: 1,
        ort: { severity: 'warning', source: expect.stringMatching(/^graph\.cc:\d+ CleanUnusedInitializersAndNodeArgs$/) },
      }),
    ]);
    // Nothing below the default level (warning) comes through.
    for (const l of ortLines(s)) expect(['warning', 'error', 'fatal']).toContain((l.ort as { severity: string }).severity);
  });

  it('with --ort-log-level error the warning is filtered out, and the output is still only JSON', async () => {
    const s = await runServer(['--ort-log-level', 'error']);
    expectOnlyJson(s);
    // The model was inspected and loaded all the same.
    expect(s.logs).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'version READY', model: 'unused-initializer', version: 1 })]));
    expect(ortLines(s).filter((l) => String(l.msg).startsWith('onnxruntime: Removing initializer'))).toEqual([]);
    expect(ortLines(s)).toEqual([]);
  });
});
