// The prediction log under a bad destination: a full disk (/dev/full) and a stalled one (a FIFO
// nobody reads), and with its writer thread dying mid-run. Serving goes on, every lost line is
// counted by reason, the buffer stays within its cap, one rate-limited warning reaches the app
// log, and shutdown completes.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';
import { waitFor } from './helpers/load.js';
import { DEAF_LOG_WORKER } from './fixtures/deaf-log-worker.mjs';
import { DIE_AFTER, DYING_LOG_WORKER } from './fixtures/dying-log-worker.mjs';

const rows = digitsRows(32);

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await t!.gw.metrics.registry.getSingleMetric(name)!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

async function sendAll(n: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const r = await postJson(`${t!.url}/v2/models/digits/infer`, { id: `r-${i}`, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[i % rows.length] }] });
        statuses.push(r.status);
      }
    }),
  );
  return statuses;
}

const dropWarnings = (): unknown[] => t!.logs.filter((l) => l.msg === 'prediction log lines dropped (counted in sluice_prediction_log_dropped_total)');

describe('prediction log destination failures', () => {
  it('a full disk: every answer is served, every line is counted as a write error, one warning', async () => {
    t = await startTestGateway({ models: ['digits'], config: { predictionLog: '/dev/full' } });
    const statuses = await sendAll(60, 4);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    await waitFor(async () => (await counter('sluice_prediction_log_dropped_total', { reason: 'write_error' })) === 60, 10_000);
    expect(await counter('sluice_prediction_log_lines_total', { kind: 'primary' })).toBe(60);
    expect(await counter('sluice_prediction_log_bytes_total')).toBe(0);
    expect(await counter('sluice_prediction_log_buffered_bytes')).toBe(0);
    expect(dropWarnings()).toHaveLength(1);
    expect(dropWarnings()[0]).toMatchObject({ level: 40, reason: 'write_error', destination: '/dev/full' });
  }, 30_000);

  it('a stalled destination: the buffer stays within its cap, the rest is dropped and counted, shutdown completes', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-fifo-'));
    const fifo = path.join(dir, 'stalled');
    execFileSync('mkfifo', [fifo]);
    // A reader that never reads: the pipe (64 KiB) fills, then every write blocks.
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const bufferBytes = 16 * 1024;
      t = await startTestGateway({ models: ['digits'], config: { predictionLog: fifo, predictionLogBufferBytes: bufferBytes, drainTimeoutMs: 500 } });
      let maxBuffered = 0;
      const sampler = setInterval(() => {
        void counter('sluice_prediction_log_buffered_bytes').then((b) => (maxBuffered = Math.max(maxBuffered, b)));
      }, 5);
      const statuses = await sendAll(600, 8);
      clearInterval(sampler);
      expect(statuses.filter((s) => s === 200)).toHaveLength(600);
      await waitFor(async () => (await counter('sluice_prediction_log_dropped_total', { reason: 'buffer_full' })) > 0, 10_000);
      expect(maxBuffered).toBeLessThanOrEqual(bufferBytes);
      expect(maxBuffered).toBeGreaterThan(0);
      await waitFor(async () => (await counter('sluice_prediction_log_lines_total')) === 600, 10_000);
      const started = Date.now();
      await t.stop(); // the close waits at most max(1 s, drain timeout), then counts the rest as closed
      t = undefined;
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      closeSync(reader);
    }
  }, 60_000);

  it('a writer thread that dies: serving goes on, every line it did not write is counted, one warning', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-dying-log-'));
    const file = path.join(dir, 'predictions.log');
    t = await startTestGateway({ models: ['digits'], config: { predictionLog: file }, gateway: { predictionLogWorkerFile: DYING_LOG_WORKER } });
    const statuses = await sendAll(60, 4);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    await waitFor(async () => (await counter('sluice_prediction_log_lines_total', { kind: 'primary' })) === 60, 10_000);
    // Everything after its DIE_AFTER-th record at least; maybe some lines it wrote but never reported too.
    await waitFor(async () => (await counter('sluice_prediction_log_dropped_total', { reason: 'write_error' })) >= 60 - DIE_AFTER, 10_000);
    const started = Date.now();
    await t.stop();
    expect(Date.now() - started).toBeLessThan(15_000);
    const dropped = await counter('sluice_prediction_log_dropped_total', { reason: 'write_error' });
    const written = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;
    expect(written).toBeLessThan(DIE_AFTER);
    expect(written + dropped).toBeGreaterThanOrEqual(60); // none lost without a count
    expect(dropWarnings()).toHaveLength(1);
    expect(dropWarnings()[0]).toMatchObject({ level: 40, reason: 'write_error', err: 'the prediction log writer thread stopped' });
    t = undefined;
  }, 60_000);

  it('a writer thread that never answers close: stop gives up after the close timeout and counts what it did not report', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-deaf-log-'));
    const file = path.join(dir, 'predictions.log');
    t = await startTestGateway({ models: ['digits'], config: { predictionLog: file, drainTimeoutMs: 500 }, gateway: { predictionLogWorkerFile: DEAF_LOG_WORKER } });
    const statuses = await sendAll(40, 4);
    expect(statuses.filter((s) => s === 200)).toHaveLength(40);
    const started = Date.now();
    await t.stop(); // close timeout max(1 s, drain timeout) + 2 s grace, then the thread is stopped
    const tookMs = Date.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(2_500);
    expect(tookMs).toBeLessThan(10_000);
    expect(await counter('sluice_prediction_log_lines_total', { kind: 'primary' })).toBe(40);
    const written = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;
    const dropped = await counter('sluice_prediction_log_dropped_total');
    expect(written + dropped).toBeGreaterThanOrEqual(40); // none lost without a count
    t = undefined;
  }, 60_000);
});
