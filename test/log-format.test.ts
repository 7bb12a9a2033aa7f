// --log-format on the real process: `pretty` prints pino-pretty's human-readable lines (not JSON)
// from start to "stopped"; the default prints JSON lines only.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/load.js';
import { spawnServer } from './helpers/process.js';

// An empty repository: the server starts and listens without loading a model.
let models: string;
beforeAll(async () => {
  models = await mkdtemp(path.join(os.tmpdir(), 'sluice-logfmt-'));
});
afterAll(async () => {
  await rm(models, { recursive: true, force: true });
});

const isJson = (line: string): boolean => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

/** Starts the server, waits until a stdout line says "listening", stops it; its stdout lines. */
async function runOnce(extra: string[]): Promise<string[]> {
  const server = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models, ...extra]);
  try {
    await waitFor(() => server.stdoutLines.some((l) => l.includes('listening')) || server.child.exitCode !== null);
  } finally {
    server.child.kill('SIGTERM');
  }
  expect((await server.exited).code).toBe(0);
  await server.closed;
  return server.stdoutLines.filter((l) => l !== '');
}

describe('--log-format', () => {
  it('pretty: human-readable lines, from "listening" to "stopped"', async () => {
    const lines = await runOnce(['--log-format', 'pretty']);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter(isJson)).toEqual([]);
    expect(lines.some((l) => /\bINFO\b.*: listening\b.*"port":\d+/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/\bINFO\b.*: stopped$/);
  }, 30_000);

  it('default: JSON lines', async () => {
    const lines = await runOnce([]);
    expect(lines.filter((l) => !isJson(l))).toEqual([]);
    const records = lines.map((l) => JSON.parse(l));
    expect(records.find((r) => r.msg === 'listening')).toMatchObject({ level: 30, svc: 'sluice', port: expect.any(Number) });
    expect(records.at(-1)).toMatchObject({ msg: 'stopped' });
  }, 30_000);

  it('SLUICE_LOG_FORMAT=pretty does the same as the flag', async () => {
    const server = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models], { SLUICE_LOG_FORMAT: 'pretty' });
    try {
      await waitFor(() => server.stdoutLines.some((l) => l.includes('listening')));
    } finally {
      server.child.kill('SIGTERM');
    }
    await server.closed;
    expect(server.stdoutLines.filter((l) => l !== '' && isJson(l))).toEqual([]);
  }, 30_000);
});
