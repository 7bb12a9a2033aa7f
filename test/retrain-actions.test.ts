// The two retrain actions: the signed webhook (allow-list, retries with backoff, no redirects)
// against a real local HTTP server, and the command (no shell, event on stdin and in the env,
// bounded output logging, SIGTERM then SIGKILL on timeout) with real node child processes.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, MAX_LOG_LINES, runCommand } from '../src/retrain/command.js';
import { sendWebhook, signBody, webhookAllowed, type ActionLog } from '../src/retrain/webhook.js';

interface Line {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(): ActionLog & { lines: Line[] } {
  const lines: Line[] = [];
  const push = (level: Line['level']) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

const EVENT = { id: 'evt-123', model: 'digits', version: '2', reason: 'drift', numbers: { score: 0.31 }, timeMs: 1_900_000_000_000 };
const SECRET = 'test-secret-do-not-log';

describe('webhookAllowed', () => {
  const allow = ['http://127.0.0.1:9000/hooks'];
  it.each([
    ['http://127.0.0.1:9000/hooks', true],
    ['http://127.0.0.1:9000/hooks/retrain', true],
    ['http://127.0.0.1:9000/hooks/retrain?model=x', true],
    ['HTTP://127.0.0.1:9000/hooks/a/../b', true],
    ['http://127.0.0.1:9000/hooksx', false],
    ['http://127.0.0.1:90001', false],
    ['http://127.0.0.1:90001/hooks', false],
    ['http://127.0.0.1:9001/hooks', false],
    ['http://127.0.0.1/hooks', false],
    ['https://127.0.0.1:9000/hooks', false],
    ['http://evil/?x=http://127.0.0.1:9000/hooks', false],
    ['http://evil/http://127.0.0.1:9000/hooks', false],
    ['http://127.0.0.1:9000.evil.com/hooks', false],
    ['http://user:pass@127.0.0.1:9000/hooks', false],
    ['http://user@127.0.0.1:9000/hooks', false],
    ['http://127.0.0.1:9000/hooks/../admin', false],
    ['http://127.0.0.1:9000/hooks/%2e%2e/admin', false],
    ['http://127.0.0.1:9000/hooks/..%2Fadmin', false],
    ['http://127.0.0.1:9000/', false],
    ['ftp://127.0.0.1:9000/hooks', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(webhookAllowed(url, allow)).toBe(expected);
  });

  it('normalises both sides: default ports, host case, a trailing slash entry', () => {
    expect(webhookAllowed('http://HOOKS.example.com:80/x/y', ['http://hooks.example.com/x'])).toBe(true);
    expect(webhookAllowed('https://hooks.example.com/x/y', ['https://hooks.example.com:443/x/'])).toBe(true);
    expect(webhookAllowed('https://hooks.example.com/xy', ['https://hooks.example.com/x/'])).toBe(false);
    expect(webhookAllowed('http://127.0.0.1:9000/anything', ['http://127.0.0.1:9000'])).toBe(true);
  });

  it('allows nothing with an empty list, and ignores bad entries', () => {
    expect(webhookAllowed('http://127.0.0.1:9000/hooks', [])).toBe(false);
    expect(webhookAllowed('http://127.0.0.1:9000/hooks', ['', 'garbage', 'ftp://127.0.0.1:9000/hooks', 'http://u:p@127.0.0.1:9000/hooks'])).toBe(false);
    expect(webhookAllowed('http://127.0.0.1:9000/hooks', ['http://127.0.0.1:9000/hooks?token=1'])).toBe(false);
    expect(webhookAllowed('http://127.0.0.1:9000/hooks', ['garbage', ' http://127.0.0.1:9000/hooks '])).toBe(true);
  });
});

interface Hit {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('sendWebhook', () => {
  let server: Server;
  let base: string;
  let hits: Hit[];
  let handler: (req: IncomingMessage, res: ServerResponse, hit: Hit) => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hit = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        hits.push(hit);
        handler(req, res, hit);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    hits = [];
    handler = (_req, res) => res.end('ok');
  });

  function deps(extra: { secret?: string | undefined; allow?: string[] } = {}) {
    const log = recorder();
    const delays: number[] = [];
    return {
      log,
      delays,
      deps: { allow: extra.allow ?? [`${base}/hooks`], secret: 'secret' in extra ? extra.secret : SECRET, log, sleep: async (ms: number) => void delays.push(ms) },
    };
  }

  function config(over: Partial<{ url: string; timeoutMs: number; retries: number; backoffMs: number }> = {}) {
    return { url: `${base}/hooks/retrain?token=q`, timeoutMs: 2000, retries: 3, backoffMs: 100, ...over };
  }

  /** What a receiver does: recompute the HMAC over the raw body and the timestamp header. */
  function verify(hit: Hit): boolean {
    const timestamp = String(hit.headers['x-sluice-timestamp']);
    const signature = String(hit.headers['x-sluice-signature']);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${hit.body}`).digest('hex')}`;
    return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
  }

  function logText(log: { lines: Line[] }): string {
    return JSON.stringify(log.lines);
  }

  it('posts the signed event once, with the event id, and succeeds', async () => {
    const { log, delays, deps: d } = deps();
    const outcome = await sendWebhook(config(), EVENT, d);
    expect(outcome).toMatchObject({ ok: true, attempts: 1, status: 200 });
    expect(outcome.error).toBeUndefined();
    expect(delays).toEqual([]);
    expect(hits).toHaveLength(1);
    const hit = hits[0]!;
    expect(hit.url).toBe('/hooks/retrain?token=q');
    expect(JSON.parse(hit.body)).toEqual(EVENT);
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['user-agent']).toBe('sluice');
    expect(hit.headers['x-sluice-event-id']).toBe('evt-123');
    expect(Math.abs(Number(hit.headers['x-sluice-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(verify(hit)).toBe(true);
    expect(verify({ ...hit, body: hit.body.replace('digits', 'digitz') })).toBe(false);
    expect(log.lines.map((l) => [l.level, l.msg])).toEqual([['info', 'retrain webhook delivered']]);
    const text = logText(log);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(String(hit.headers['x-sluice-signature']).slice(7));
    expect(text).not.toContain('token=q');
  });

  it('signBody is the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    expect(signBody('k', 1700000000, '{"a":1}')).toBe(createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex'));
    expect(signBody('k', 1700000000, '{"a":1}')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('retries 503 with doubling backoff, then succeeds; each attempt is signed', async () => {
    let n = 0;
    handler = (_req, res) => {
      res.statusCode = ++n <= 2 ? 503 : 200;
      res.end(n <= 2 ? 'busy' : 'ok');
    };
    const { log, delays, deps: d } = deps();
    const outcome = await sendWebhook(config({ backoffMs: 250 }), EVENT, d);
    expect(outcome).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(delays).toEqual([250, 500]);
    expect(hits).toHaveLength(3);
    expect(hits.every(verify)).toBe(true);
    expect(hits.every((h) => h.headers['x-sluice-event-id'] === 'evt-123')).toBe(true);
    const warns = log.lines.filter((l) => l.level === 'warn');
    expect(warns.map((l) => [l.obj.attempt, l.obj.status, l.obj.url])).toEqual([
      [1, 503, `${base}/hooks/retrain`],
      [2, 503, `${base}/hooks/retrain`],
    ]);
    expect(logText(log)).not.toContain(SECRET);
  });

  it('caps the backoff at 30 s and retries 429', async () => {
    handler = (_req, res) => {
      res.statusCode = 429;
      res.end();
    };
    const { log, delays, deps: d } = deps();
    const outcome = await sendWebhook(config({ retries: 3, backoffMs: 20_000 }), EVENT, d);
    expect(outcome).toMatchObject({ ok: false, attempts: 4, status: 429 });
    expect(delays).toEqual([20_000, 30_000, 30_000]);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', msg: 'retrain webhook failed' });
  });

  it('does not retry a 400', async () => {
    handler = (_req, res) => {
      res.statusCode = 400;
      res.end('bad');
    };
    const { log, delays, deps: d } = deps();
    const outcome = await sendWebhook(config(), EVENT, d);
    expect(outcome).toMatchObject({ ok: false, attempts: 1, status: 400 });
    expect(delays).toEqual([]);
    expect(hits).toHaveLength(1);
    expect(log.lines.map((l) => l.level)).toEqual(['warn', 'error']);
  });

  it('times out each attempt, retries, then fails with a timeout error', async () => {
    handler = () => undefined; // never answers
    const { log, delays, deps: d } = deps();
    const started = Date.now();
    const outcome = await sendWebhook(config({ timeoutMs: 200, retries: 1, backoffMs: 10 }), EVENT, d);
    expect(outcome.ok).toBe(false);
    expect(outcome.attempts).toBe(2);
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toMatch(/timeout/);
    expect(delays).toEqual([10]);
    expect(hits).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.obj.error)).toEqual(['timeout after 200 ms', 'timeout after 200 ms']);
  });

  it('retries a refused connection (network error)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { delays, deps: d } = deps({ allow: [`http://127.0.0.1:${port}/`] });
    const outcome = await sendWebhook(config({ url: `http://127.0.0.1:${port}/x`, retries: 2, backoffMs: 5 }), EVENT, d);
    expect(outcome).toMatchObject({ ok: false, attempts: 3 });
    expect(outcome.error).toMatch(/ECONNREFUSED/);
    expect(delays).toEqual([5, 10]);
  });

  it('does not follow or retry a redirect', async () => {
    handler = (req, res) => {
      if (req.url?.startsWith('/hooks/retrain')) {
        res.writeHead(302, { location: `${base}/hooks/elsewhere` });
        res.end();
      } else res.end('ok');
    };
    const { delays, deps: d } = deps();
    const outcome = await sendWebhook(config(), EVENT, d);
    expect(outcome).toMatchObject({ ok: false, attempts: 1, status: 302, error: 'redirect not followed' });
    expect(delays).toEqual([]);
    expect(hits.map((h) => h.url)).toEqual(['/hooks/retrain?token=q']);
  });

  it('makes no request at all to a URL off the allow-list', async () => {
    const { log, deps: d } = deps({ allow: [`${base}/other`] });
    const outcome = await sendWebhook(config(), EVENT, d);
    expect(outcome).toMatchObject({ ok: false, attempts: 0, error: 'not_allowed' });
    expect(hits).toHaveLength(0);
    expect(log.lines).toEqual([{ level: 'error', obj: { url: `${base}/hooks/retrain`, error: 'not_allowed' }, msg: expect.stringContaining('allow') }]);
    const none = deps({ allow: [] });
    expect((await sendWebhook(config(), EVENT, none.deps)).error).toBe('not_allowed');
    expect(hits).toHaveLength(0);
  });

  it('without a secret sends no signature header and warns once', async () => {
    handler = (_req, res) => {
      res.statusCode = 500;
      res.end();
    };
    const { log, deps: d } = deps({ secret: undefined });
    const outcome = await sendWebhook(config({ retries: 2 }), { model: 'digits' }, d);
    expect(outcome.attempts).toBe(3);
    expect(hits.every((h) => h.headers['x-sluice-signature'] === undefined)).toBe(true);
    expect(hits.every((h) => h.headers['x-sluice-timestamp'] !== undefined)).toBe(true);
    expect(hits.every((h) => h.headers['x-sluice-event-id'] === undefined)).toBe(true);
    expect(log.lines.filter((l) => l.msg.includes('unsigned'))).toHaveLength(1);
  });

  it('reads at most 64 KiB of a large response body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent < 64) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => undefined);
      pump();
    };
    const { deps: d } = deps();
    const outcome = await sendWebhook(config(), EVENT, d);
    expect(outcome).toMatchObject({ ok: true, attempts: 1, status: 200 });
  });
});

describe('runCommand', () => {
  const node = (script: string, ...args: string[]) => ['node', '-e', script, ...args];

  it('runs node, logs stdout lines at info and stderr lines at warn, ok on exit 0', async () => {
    const log = recorder();
    const outcome = await runCommand({ argv: node('console.log("hello"); console.log("world"); console.error("careful")'), timeoutMs: 10_000 }, EVENT, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: true, exitCode: 0, signal: null, timedOut: false });
    expect(outcome.error).toBeUndefined();
    const output = log.lines.filter((l) => l.msg === 'retrain command output');
    expect(output.filter((l) => l.obj.stream === 'stdout').map((l) => [l.level, l.obj.line])).toEqual([
      ['info', 'hello'],
      ['info', 'world'],
    ]);
    expect(output.filter((l) => l.obj.stream === 'stderr').map((l) => [l.level, l.obj.line])).toEqual([['warn', 'careful']]);
    expect(output.every((l) => l.obj.argv0 === 'node' && typeof l.obj.pid === 'number')).toBe(true);
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', msg: 'retrain command finished' });
  });

  it('gives the event on stdin and in SLUICE_RETRAIN_EVENT / SLUICE_RETRAIN_MODEL', async () => {
    const log = recorder();
    const script = `let s = ''; process.stdin.on('data', (c) => (s += c)).on('end', () => {
      const e = JSON.parse(s);
      console.log('model=' + e.model);
      console.log('env=' + JSON.parse(process.env.SLUICE_RETRAIN_EVENT).id + '/' + process.env.SLUICE_RETRAIN_MODEL);
      console.log('base=' + process.env.BASE_ONLY);
    });`;
    const outcome = await runCommand({ argv: node(script), timeoutMs: 10_000 }, EVENT, { log, env: { ...process.env, BASE_ONLY: 'yes', SLUICE_RETRAIN_MODEL: 'stale' } });
    expect(outcome.ok).toBe(true);
    expect(log.lines.filter((l) => l.obj.stream === 'stdout').map((l) => l.obj.line)).toEqual(['model=digits', 'env=evt-123/digits', 'base=yes']);
  });

  it('a child that never reads stdin is fine (EPIPE ignored)', async () => {
    const log = recorder();
    const outcome = await runCommand({ argv: node('process.exit(0)'), timeoutMs: 10_000 }, { model: 'm', blob: 'x'.repeat(1 << 20) }, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('a non-zero exit is not ok', async () => {
    const log = recorder();
    const outcome = await runCommand({ argv: node('process.exit(3)'), timeoutMs: 10_000 }, EVENT, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: false, exitCode: 3, signal: null, timedOut: false });
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', msg: 'retrain command failed' });
  });

  it('kills a command that runs past its timeout with SIGTERM', async () => {
    const log = recorder();
    const started = Date.now();
    const outcome = await runCommand({ argv: node('setInterval(() => {}, 1000)'), timeoutMs: 300 }, EVENT, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: false, exitCode: null, signal: 'SIGTERM', timedOut: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('SIGKILLs a command that ignores SIGTERM, 2 s later', async () => {
    const log = recorder();
    const script = `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000);`;
    const outcome = await runCommand({ argv: node(script), timeoutMs: 1500 }, EVENT, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: false, exitCode: null, signal: 'SIGKILL', timedOut: true });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(3400);
    expect(log.lines.map((l) => l.obj.line)).toContain('ignoring SIGTERM');
  });

  it('a missing binary is an outcome with an error, not a throw', async () => {
    const log = recorder();
    const outcome = await runCommand({ argv: ['/nonexistent/sluice-retrain-binary', '--x'], timeoutMs: 10_000 }, EVENT, { log, env: process.env });
    expect(outcome).toMatchObject({ ok: false, exitCode: null, signal: null, timedOut: false });
    expect(outcome.error).toMatch(/ENOENT/);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', msg: 'retrain command failed' });
    expect(await runCommand({ argv: [], timeoutMs: 10 }, EVENT, { log, env: process.env })).toMatchObject({ ok: false, error: 'empty argv' });
  });

  it('passes shell metacharacters literally (no shell)', async () => {
    const log = recorder();
    const marker = path.join(tmpdir(), `sluice-retrain-${randomBytes(6).toString('hex')}`);
    const arg = `"; touch ${marker}; echo $(touch ${marker}) \`touch ${marker}\` | > ${marker}`;
    const outcome = await runCommand({ argv: node('console.log(JSON.stringify(process.argv.at(-1)))', arg), timeoutMs: 10_000 }, EVENT, { log, env: process.env });
    expect(outcome.ok).toBe(true);
    expect(existsSync(marker)).toBe(false);
    const line = log.lines.find((l) => l.obj.stream === 'stdout')?.obj.line;
    expect(JSON.parse(String(line))).toBe(arg);
  });

  it(`logs at most ${MAX_LOG_LINES} lines, then one "output truncated" line; long lines cut`, async () => {
    const log = recorder();
    const script = `const out = ['y'.repeat(5000)]; for (let i = 0; i < 100000; i++) out.push('line ' + i); process.stdout.write(out.join('\\n') + '\\n');`;
    const outcome = await runCommand({ argv: node(script), timeoutMs: 30_000 }, EVENT, { log, env: process.env });
    expect(outcome.ok).toBe(true);
    const output = log.lines.filter((l) => l.msg === 'retrain command output');
    expect(output).toHaveLength(MAX_LOG_LINES);
    expect(output[0]!.obj).toMatchObject({ line: 'y'.repeat(MAX_LINE_CHARS), cut: true });
    expect(output[1]!.obj.line).toBe('line 0');
    expect(output.at(-1)!.obj.line).toBe(`line ${MAX_LOG_LINES - 2}`);
    expect(log.lines.filter((l) => l.msg === 'retrain command output truncated')).toHaveLength(1);
  });

  it('keeps CRLF lines and a last line without a newline', async () => {
    const log = recorder();
    const outcome = await runCommand({ argv: node(`process.stdout.write('a\\r\\n\\nb')`), timeoutMs: 10_000 }, EVENT, { log, env: process.env });
    expect(outcome.ok).toBe(true);
    expect(log.lines.filter((l) => l.obj.stream === 'stdout').map((l) => l.obj.line)).toEqual(['a', '', 'b']);
  });
});
