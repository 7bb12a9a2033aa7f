// inspectModel against the build output: it forks dist/src/inference/inspect-child.js,
// which only exists as compiled JavaScript (npm test builds first).
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as InspectModule from '../src/inference/inspect.js';
import type { OrtLogLine } from '../src/inference/ort-text.js';
import { unusedInitializerModel } from './helpers/onnx-fixtures.js';

// As test/helpers/gateway.ts does, without importing it (it loads the whole gateway).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { inspectModel } = (await import(path.join(ROOT, 'dist/src/inference/inspect.js'))) as typeof InspectModule;

const DIGITS = path.join(ROOT, 'models/digits/1/model.onnx');
const ESC = '\x1b';

/**
 * Pids of this process's live inspection children (Linux /proc). Synchronous, so that a
 * test can find a child in the same turn that forked it, long before it could reply.
 */
function inspectionChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('inspect-child.js')) pids.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

function collect(level: 0 | 1 | 2 | 3 | 4, timeoutMs = 20_000) {
  const lines: OrtLogLine[] = [];
  return { lines, opts: { logSeverityLevel: level, timeoutMs, onLog: (l: OrtLogLine) => lines.push(l) } };
}

let dir: string;
let unusedInitializer: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-inspect-'));
  // Relu(x) plus an initializer no node reads: ORT removes it at load with a warning.
  unusedInitializer = path.join(dir, 'unused-initializer.onnx');
  await writeFile(
    unusedInitializer,
    unusedInitializerModel(),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('inspectModel', () => {
  it('reads the digits graph signature: names, element types, free dims and their names', async () => {
    const { opts } = collect(2);
    await expect(inspectModel(DIGITS, opts)).resolves.toEqual({
      inputs: [{ name: 'pixels', type: 'float32', dims: [-1, 64], dimNames: ['batch', null] }],
      outputs: [
        { name: 'probabilities', type: 'float32', dims: [-1, 10], dimNames: ['batch', null] },
        { name: 'label', type: 'int64', dims: [-1], dimNames: ['batch'] },
      ],
    });
    expect(inspectionChildren()).toEqual([]);
  });

  it('delivers ORT load warnings as parsed lines without ANSI escapes, before it resolves', async () => {
    const { lines, opts } = collect(2);
    const signature = await inspectModel(unusedInitializer, opts);
    expect(signature.inputs).toEqual([{ name: 'x', type: 'float32', dims: [-1, -1, 3], dimNames: ['n', null, null] }]);
    const warning = lines.find((l) => l.message.includes("Removing initializer 'stale_weight'"));
    expect(warning).toEqual({
      severity: 'warning',
      source: expect.stringMatching(/^graph\.cc:\d+ CleanUnusedInitializersAndNodeArgs$/),
      message: "Removing initializer 'stale_weight'. It is not used by any node and should be removed from the model.",
    });
    for (const l of lines) expect(`${l.source ?? ''} ${l.message}`).not.toContain(ESC);
  });

  it('passes the severity on: silent at error level, verbose lines at level 0', async () => {
    const quiet = collect(3);
    await inspectModel(unusedInitializer, quiet.opts);
    expect(quiet.lines).toEqual([]);

    const loud = collect(0);
    await inspectModel(unusedInitializer, loud.opts);
    const severities = new Set(loud.lines.map((l) => l.severity));
    expect(severities).toEqual(new Set(['verbose', 'info', 'warning']));
    expect(loud.lines.every((l) => l.source !== undefined)).toBe(true);
  });

  it('rejects a corrupt file with ORT’s cleaned message and leaves no child', async () => {
    const corrupt = path.join(dir, 'corrupt.onnx');
    await writeFile(corrupt, 'this is not a protobuf');
    const err = await inspectModel(corrupt, collect(2).opts).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SLUICE_ERR_MODEL_LOAD_FAILED',
      message: 'ONNX Runtime could not open the model: Load model from corrupt.onnx failed:Protobuf parsing failed.',
    });
    expect(inspectionChildren()).toEqual([]);
  });

  it('rejects a missing file without naming the server’s directories', async () => {
    const missing = path.join(dir, 'nope', 'model.onnx');
    const err = await inspectModel(missing, collect(2).opts).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLUICE_ERR_MODEL_LOAD_FAILED' });
    expect((err as Error).message).toMatch(/File doesn't exist/);
    expect((err as Error).message).not.toContain(dir);
  });

  it('kills a child that outlives the timeout', async () => {
    const err = await inspectModel(DIGITS, collect(2, 1).opts).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SLUICE_ERR_MODEL_LOAD_FAILED',
      message: 'ONNX Runtime took longer than 1 ms to open the model; the inspection process was killed',
    });
    expect(inspectionChildren()).toEqual([]);
  });

  it('reports a child that dies without replying as a crash, with its signal', async () => {
    const pending = inspectModel(DIGITS, collect(2).opts);
    // fork() has returned, so the child exists; it needs hundreds of ms to start Node and
    // ORT, and this synchronous scan takes a few, so it is killed before it can reply.
    const children = inspectionChildren();
    expect(children).toHaveLength(1);
    process.kill(children[0]!, 'SIGSEGV');
    await expect(pending).rejects.toMatchObject({
      code: 'SLUICE_ERR_MODEL_LOAD_FAILED',
      message: 'ONNX Runtime crashed while opening the model (signal SIGSEGV)',
    });
    expect(inspectionChildren()).toEqual([]);
  });

  it('kills the child when the caller aborts', async () => {
    const abort = new AbortController();
    const pending = inspectModel(DIGITS, { ...collect(2).opts, signal: abort.signal });
    abort.abort(new Error('shutting down'));
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SLUICE_ERR_MODEL_LOAD_FAILED', message: 'model inspection was cancelled' });
    expect((err as Error).cause).toEqual(new Error('shutting down'));
    expect(inspectionChildren()).toEqual([]);
  });
});
