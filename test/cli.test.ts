// The CLI's command line and its HTTP conversation, run in-process through runCli with a fake
// fetch: which request each command makes, what it prints, and how it fails (exit 1 refused,
// exit 2 usage). test/cli-e2e.test.ts runs the built CLI against a real gateway.
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { runCli } from '../src/cli/run.js';

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that answers from `routes` ("METHOD path" → [status, body]) and records each call. */
function fakeFetch(routes: Record<string, [number, unknown]>) {
  const calls: Call[] = [];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    const method = init.method ?? 'GET';
    calls.push({ method, url, headers: { ...(init.headers as Record<string, string>) }, body: init.body === undefined ? undefined : JSON.parse(String(init.body)) });
    const route = routes[`${method} ${new URL(url).pathname}`];
    if (!route) return new Response(JSON.stringify({ error: 'no such endpoint', code: 'SLUICE_ERR_HTTP_ROUTE_NOT_FOUND' }), { status: 404 });
    const [status, body] = route;
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, statusText: STATUS_CODES[status] ?? '' });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

async function cli(argv: string[], opts: { routes?: Record<string, [number, unknown]>; env?: NodeJS.ProcessEnv; fetch?: typeof fetch } = {}) {
  const fake = fakeFetch(opts.routes ?? {});
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: opts.env ?? { SLUICE_ADMIN_TOKEN: 'secret' },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    fetch: opts.fetch ?? fake.fetch,
    version: '9.9.9',
  });
  return { code, stdout, stderr, calls: fake.calls };
}

const routing = (primary: string | null, shadows: { version: string; percent: number }[] = []) => ({
  primary,
  shadows,
  previousPrimary: null,
  since: '2026-01-02T03:04:05.000Z',
});

describe('cli: command line', () => {
  it('--help lists every command, --version prints the version; neither makes a request', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: sluice <command> \[options\]\n/);
    for (const name of ['serve', ...COMMANDS.map((c) => c.name)]) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const version = await cli(['--version']);
    expect([version.code, version.stdout, version.stderr]).toEqual([0, '9.9.9\n', '']);
    expect([...help.calls, ...version.calls]).toEqual([]);
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage and options and exits 0 without a request', async (name) => {
    const r = await cli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: sluice ${name}( <\\w+>)* \\[options\\]\n`));
    for (const flag of ['--url URL', '--token TOKEN', '-h, --help']) expect(r.stdout).toContain(flag);
    expect(r.calls).toEqual([]);
  });

  it.each([
    [[], 'missing command'],
    [['modles'], 'unknown command "modles" (did you mean models?)'],
    [['promote', 'digits'], 'promote: missing <version>'],
    [['rollback', 'digits', '2'], 'rollback: unexpected argument "2"'],
    [['promote', 'digits', 'two'], '<version> must be a version number (1, 2, ...), got "two"'],
    [['routing', 'digits', '--primary', 'latest'], '--primary must be a version number (1, 2, ...), got "latest"'],
    [['routing', 'digits', '--shadow', '2:25'], '--shadow needs VERSION=PERCENT with PERCENT from 0 to 100, got "2:25"'],
    [['routing', 'digits', '--shadow', '2=101'], '--shadow needs VERSION=PERCENT with PERCENT from 0 to 100, got "2=101"'],
    [['routing', 'digits', '--shadow', '2='], '--shadow needs VERSION=PERCENT with PERCENT from 0 to 100, got "2="'],
    [['routing', 'digits', '--shadow', '2=5', '--no-shadows'], '--shadow and --no-shadows contradict each other: give one'],
    [['models', '--bogus'], 'unknown option --bogus'],
    [['models', '--url'], '--url needs a value'],
    [['models', '--json=yes'], '--json takes no value, got "yes"'],
    [['models', '--url', 'localhost:8001'], '--url must be an http or https URL, got "localhost:8001"'],
    [['models', '--url', 'http//x'], '--url is not a URL: "http//x"'],
  ])('usage error %j: exit 2, one line naming it, no request', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`sluice: SLUICE_ERR_CONFIG_INVALID: ${message}`);
    expect(r.stderr.split('\n').slice(1).every((l) => l === '' || l.startsWith('  '))).toBe(true);
    expect(r.stdout).toBe('');
    expect(r.calls).toEqual([]);
  });
});

describe('cli: requests and answers', () => {
  it('sends the bearer token to the URL from the flags, else the environment, else the default', async () => {
    const routes: Record<string, [number, unknown]> = { 'GET /admin/models': [200, { models: [] }] };
    const byFlag = await cli(['models', '--url', 'http://h:1/', '--token', 't1'], { routes, env: { SLUICE_ADMIN_URL: 'http://e:2', SLUICE_ADMIN_TOKEN: 'e1' } });
    const byEnv = await cli(['models'], { routes, env: { SLUICE_ADMIN_URL: 'http://e:2', SLUICE_ADMIN_TOKEN: 'e1' } });
    const byDefault = await cli(['models'], { routes, env: {} });
    expect(byFlag.calls.map((c) => [c.url, c.headers.authorization])).toEqual([['http://h:1/admin/models', 'Bearer t1']]);
    expect(byEnv.calls.map((c) => [c.url, c.headers.authorization])).toEqual([['http://e:2/admin/models', 'Bearer e1']]);
    expect(byDefault.calls.map((c) => [c.url, c.headers.authorization])).toEqual([['http://127.0.0.1:8001/admin/models', undefined]]);
    expect(byEnv.stdout).toBe('no models in the repository\n');
  });

  it('routing set keeps what the flags leave alone: --shadow keeps the primary, --primary keeps the shadows', async () => {
    const routes: Record<string, [number, unknown]> = {
      'GET /admin/models/digits/routing': [200, routing('1', [{ version: '3', percent: 5 }])],
      'PUT /admin/models/digits/routing': [200, routing('1', [{ version: '2', percent: 25 }, { version: '3', percent: 5.5 }])],
    };
    const shadows = await cli(['routing', 'digits', '--shadow', '2=25', '--shadow', '3=5.5'], { routes });
    expect(shadows.code).toBe(0);
    expect(shadows.calls.map((c) => [c.method, c.body])).toEqual([
      ['GET', undefined],
      ['PUT', { primary: '1', shadows: [{ version: '2', percent: 25 }, { version: '3', percent: 5.5 }] }],
    ]);
    expect(shadows.stdout).toBe(
      'digits\n  primary           1\n  shadows           2 (25%), 3 (5.5%)\n  previous primary  -\n  since             2026-01-02T03:04:05.000Z\n',
    );
    const primary = await cli(['routing', 'digits', '--primary', '2'], { routes });
    expect(primary.calls[1]?.body).toEqual({ primary: '2', shadows: [{ version: '3', percent: 5 }] });
    const cleared = await cli(['routing', 'digits', '--no-shadows'], { routes });
    expect(cleared.calls[1]?.body).toEqual({ primary: '1', shadows: [] });
  });

  it('routing set on a model with no pinned primary sends no primary (the newest READY version stays primary)', async () => {
    const routes: Record<string, [number, unknown]> = {
      'GET /admin/models/digits/routing': [200, routing(null)],
      'PUT /admin/models/digits/routing': [200, routing(null, [{ version: '2', percent: 10 }])],
    };
    const r = await cli(['routing', 'digits', '--shadow', '2=10'], { routes });
    expect(r.calls[1]?.body).toEqual({ shadows: [{ version: '2', percent: 10 }] });
    expect(r.stdout).toContain('  primary           newest READY\n');
  });

  it('promote, rollback, load and unload post to their endpoints; --json prints the answer as it came', async () => {
    const answer = '{"primary":"2","shadows":[],"previousPrimary":"1","since":"2026-01-02T03:04:05.000Z"}';
    const routes: Record<string, [number, unknown]> = {
      'POST /admin/models/my%20model/promote': [200, answer],
      'POST /admin/models/digits/rollback': [200, answer],
      'POST /admin/models/digits/versions/2/load': [200, { model: 'digits', version: '2', state: 'READY' }],
      'POST /admin/models/digits/versions/2/unload': [200, { model: 'digits', version: '2', state: 'UNLOADED' }],
    };
    const promote = await cli(['promote', 'my model', '2', '--json'], { routes });
    expect(promote.calls.map((c) => [c.method, c.url, c.body])).toEqual([['POST', 'http://127.0.0.1:8001/admin/models/my%20model/promote', { version: '2' }]]);
    expect(promote.stdout).toBe(`${answer}\n`);
    const rollback = await cli(['rollback', 'digits'], { routes });
    expect(rollback.stdout).toContain('  primary           2\n  shadows           -\n  previous primary  1\n');
    expect((await cli(['load', 'digits', '2'], { routes })).stdout).toBe('digits version 2: loaded (READY)\n');
    expect((await cli(['unload', 'digits', '2'], { routes })).stdout).toBe('digits version 2: unloaded (UNLOADED)\n');
  });

  it('a refusal prints the server code, message and details, exit 1', async () => {
    const r = await cli(['promote', 'digits', '7'], {
      routes: { 'POST /admin/models/digits/promote': [404, { error: 'model "digits" has no version 7', code: 'SLUICE_ERR_MODEL_VERSION_NOT_FOUND', details: ['versions: 1, 2'] }] },
    });
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', 'sluice: SLUICE_ERR_MODEL_VERSION_NOT_FOUND: model "digits" has no version 7\n  versions: 1, 2\n']);
  });

  it('a 401 without a token says how to give one', async () => {
    const r = await cli(['models'], { env: {}, routes: { 'GET /admin/models': [401, { error: 'missing or wrong bearer token', code: 'SLUICE_ERR_ADMIN_UNAUTHORIZED' }] } });
    expect([r.code, r.stderr]).toEqual([1, 'sluice: SLUICE_ERR_ADMIN_UNAUTHORIZED: missing or wrong bearer token\n  no token was given: pass --token or set SLUICE_ADMIN_TOKEN\n']);
  });

  it('an answer that is not the gateway JSON (a proxy) is HTTP_<status> with its first line', async () => {
    const r = await cli(['models'], { routes: { 'GET /admin/models': [502, '<html>Bad Gateway</html>\n<body>'] } });
    expect([r.code, r.stderr]).toEqual([1, 'sluice: HTTP_502: GET /admin/models: Bad Gateway\n  <html>Bad Gateway</html>\n']);
  });

  it('connection refused names the URL and hints at SLUICE_ADMIN_TOKEN, exit 1 (real fetch, a closed port)', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await cli(['models'], { env: { SLUICE_ADMIN_URL: `http://127.0.0.1:${port}` }, fetch: globalThis.fetch });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`sluice: ECONNREFUSED: cannot reach the admin API at http://127.0.0.1:${port}`);
    expect(lines.slice(1)).toContainEqual(expect.stringMatching(/^  is sluice running with SLUICE_ADMIN_TOKEN set\?/));
  });
});
