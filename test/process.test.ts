// The real process: graceful SIGTERM under load, refusing the slow uWS fallback, the command line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_FLAGS } from '../src/config/config.js';
import { copyModels, getJson, postJson, ROOT } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const body = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };
// 64 rows a request and many clients keep the queue non-empty, so the signal always lands
// while requests are in flight.
const bigBody = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: digitsRows(64) }] };
const started: ServerProcess[] = [];
afterAll(() => {
  for (const s of started) s.child.kill('SIGKILL');
});

async function ready(s: ServerProcess): Promise<string> {
  const url = `http://127.0.0.1:${await s.port}`;
  await waitFor(async () => (await getJson(`${url}/v2/health/ready`).catch(() => ({ status: 0 }))).status === 200);
  return url;
}

describe('process', () => {
  it('SIGTERM under load: accepted requests all succeed, later ones are refused, exit 0 within seconds', async () => {
    const models = await copyModels(['digits']);
    const s = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models, '--workers', '2']);
    started.push(s);
    const url = await ready(s);
    let stop = false;
    const outcomes = { ok: 0, refused: 0, failed: [] as string[] };
    // Each client behaves like a load balancer's upstream: it stops sending once told the
    // server is going away (503 SHUTTING_DOWN) or once connections are refused.
    const client = async () => {
      while (!stop) {
        try {
          const r = await postJson(`${url}/v2/models/digits/infer`, bigBody);
          if (r.status === 200) outcomes.ok++;
          else if (r.status === 503 && r.json?.code === 'SLUICE_ERR_SHUTTING_DOWN') {
            outcomes.refused++;
            return;
          } else outcomes.failed.push(`${r.status} ${r.json?.code}`);
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          if (cause === 'ECONNREFUSED') {
            outcomes.refused++;
            return;
          }
          outcomes.failed.push(`fetch ${cause ?? (err as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    await waitFor(() => outcomes.ok > 20, 30_000); // under load, however slow this machine is now
    const okBefore = outcomes.ok;
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    const exitMs = Date.now() - t0;
    stop = true;
    await Promise.all(clients);
    expect(okBefore).toBeGreaterThan(20);
    expect(outcomes.failed).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(5000);
    expect(s.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: draining in-flight requests', 'stopped']));
    // That requests in flight at the signal are answered is proven deterministically (with a
    // stalled worker) in shutdown.test.ts; here the point is the real process under real load.
  });

  it('SIGTERM while models still load (after "listening") waits for the start, then drains and exits 0', async () => {
    // Loading three models takes a while after the listener is up: the signal lands in that window.
    const models = await copyModels(['digits', 'breast-cancer', 'digits-wide']);
    const s = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models]);
    started.push(s);
    await s.port;
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['repository loaded', 'shutting down: draining in-flight requests', 'stopped']));
  });

  it('refuses to start on the pure-JS uWS fallback unless --allow-slow-http', async () => {
    const models = await copyModels(['digits']);
    const refused = spawnServer(['--port', '0', '--models', models], { UWS_USE_FALLBACK: 'true' });
    started.push(refused);
    expect((await refused.exited).code).toBe(1);
    expect(refused.stderr.join('')).toMatch(/SLUICE_ERR_HTTP_NATIVE_MISSING: .*--allow-slow-http/);

    const slow = spawnServer(['--host', '127.0.0.1', '--port', '0', '--models', models, '--allow-slow-http'], { UWS_USE_FALLBACK: 'true' });
    started.push(slow);
    const url = await ready(slow);
    expect(slow.logs.some((l) => l.level === 40 && /pure-JS fallback/.test(String(l.msg)))).toBe(true);
    // Readiness promises that a request is served: the very first one, with no retry
    // (repository-ready.test.ts pins why: no 200 before the first scan has ended).
    const answer = await postJson(`${url}/v2/models/digits/infer`, body);
    expect(answer.text).toMatch(/"model_version":"1"/);
    expect(answer.status).toBe(200);
    slow.child.kill('SIGTERM');
    expect((await slow.exited).code).toBe(0);
  });

  it('reports a bad command line with its code and exits 1', async () => {
    const s = spawnServer(['--port', 'eighty']);
    started.push(s);
    expect((await s.exited).code).toBe(1);
    expect(s.stderr.join('')).toMatch(/SLUICE_ERR_CONFIG_INVALID: --port must be an integer/);
  });

  it('--help prints every option with its variable and exits 0, starting nothing', async () => {
    // SLUICE_PORT=eighty would stop a start: --help neither validates nor starts.
    const s = spawnServer(['--help'], { SLUICE_PORT: 'eighty' });
    started.push(s);
    const exit = await s.exited;
    await s.closed;
    const out = s.stdoutLines.join('\n');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.stderrChunks).toEqual([]);
    expect(out).toMatch(/^usage: sluice \[options\]/);
    for (const name of ['-h, --help', '--version', ...CONFIG_FLAGS.flatMap((f) => [f.flag, f.env])]) expect(out).toContain(name);
    expect(out).toContain('  --reuse-port  SLUICE_REUSE_PORT  default: off\n');
    expect(s.logs).toEqual([]); // no gateway started, so no JSON log line
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const argv of [['--version'], ['--port=1', '--version']]) {
      const s = spawnServer(argv);
      started.push(s);
      const exit = await s.exited;
      await s.closed;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(s.stdoutLines).toEqual([version]);
      expect(s.stderrChunks).toEqual([]);
    }
  });

  it('refuses an unknown option, --help among others, with its code and exits 1', async () => {
    const s = spawnServer(['--help', '--reuseport']);
    started.push(s);
    expect((await s.exited).code).toBe(1);
    await s.closed;
    expect(s.stderrChunks.join('')).toBe('sluice: SLUICE_ERR_CONFIG_INVALID: unknown option --reuseport\n');
    expect(s.stdoutLines).toEqual([]);
  });
});
