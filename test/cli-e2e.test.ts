// The built `sluice` CLI (node dist/src/cli.js, a child process) against a real gateway started in
// this process with an admin token, over digits at versions 1 and 2: each command's output read
// back, and the server's state checked afterwards through the admin API and real inferences.
// The child runs asynchronously: the gateway answering it lives on this process's event loop.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { copyModels, postJson, ROOT, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { digitsRows } from './helpers/ort.js';

const CLI = path.join(ROOT, 'dist/src/cli.js');
const TOKEN = 'secret';
const rows = digitsRows(8);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', SLUICE_ADMIN_URL: adminUrl, SLUICE_ADMIN_TOKEN: TOKEN, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let t: TestGateway;
let adminUrl: string;
let modelsDir: string;

async function admin(pathname: string): Promise<any> {
  const res = await fetch(`${adminUrl}${pathname}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}

/** The version an unversioned inference of row i answers from. */
async function servedVersion(i = 0): Promise<string> {
  const r = await postJson(`${t.url}/v2/models/digits/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[i % rows.length] }] });
  expect(r.status).toBe(200);
  return r.json.model_version;
}

const line = (text: string, re: RegExp) => text.split('\n').find((l) => re.test(l));

beforeAll(async () => {
  modelsDir = await copyModels(['digits']);
  await cp(path.join(modelsDir, 'digits/1'), path.join(modelsDir, 'digits/2'), { recursive: true });
  const file = path.join(modelsDir, 'digits/model.json');
  await writeFile(file, (await readFile(file, 'utf8')).replace('"latest": 1', '"latest": 2'));
  t = await startTestGateway({ modelsDir, config: { adminToken: TOKEN, adminPort: 0 } });
  expect(t.gw.adminPort).toBeTypeOf('number');
  adminUrl = `http://127.0.0.1:${t.gw.adminPort}`;
});

afterAll(async () => {
  await t?.stop();
  await rm(modelsDir, { recursive: true, force: true });
});

describe('sluice CLI against a running gateway', () => {
  it('models: one row per version with its state, sha256 prefix and provider; the routing table below', async () => {
    const r = await run(['models']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const sha = createHash('sha256').update(await readFile(path.join(modelsDir, 'digits/1/model.onnx'))).digest('hex').slice(0, 12);
    const [header, v1, v2, blank, routingHeader, routing] = r.stdout.split('\n');
    expect(header).toMatch(/^MODEL\s+VERSION\s+STATE\s+SHA256\s+PROVIDER\s+ROUTE\s+REASON$/);
    expect(v1).toMatch(new RegExp(`^digits\\s+1\\s+READY\\s+${sha}\\s+\\S+\\s+-`));
    expect(v2).toMatch(new RegExp(`^digits\\s+2\\s+READY\\s+${sha}\\s+\\S+\\s+-`));
    const provider = (await admin('/admin/models')).models[0].versions[0].provider;
    expect(v1!.split(/\s+/)[4]).toBe(provider);
    expect(blank).toBe('');
    expect(routingHeader).toMatch(/^MODEL\s+PRIMARY\s+SHADOWS\s+PREVIOUS PRIMARY$/);
    expect(routing).toMatch(/^digits\s+newest READY\s+-\s+-$/);
    // --json: the admin API's answer as it came.
    const json = await run(['models', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(await admin('/admin/models'));
  });

  it('routing set with a shadow, then shown; the server routes by it', async () => {
    const set = await run(['routing', 'digits', '--primary', '1', '--shadow', '2=25']);
    expect([set.code, set.stderr]).toEqual([0, '']);
    expect(set.stdout).toMatch(/^digits\n  primary           1\n  shadows           2 \(25%\)\n  previous primary  2\n  since             \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    expect(await admin('/admin/models/digits/routing')).toMatchObject({ primary: '1', shadows: [{ version: '2', percent: 25 }] });
    expect(await servedVersion()).toBe('1');
    const show = await run(['routing', 'digits']);
    expect([show.code, show.stdout]).toEqual([0, set.stdout]);
    const models = await run(['models']);
    expect(line(models.stdout, /^digits\s+1\s/)).toMatch(/\sprimary(\s|$)/);
    expect(line(models.stdout, /^digits\s+2\s/)).toMatch(/\sshadow 25%(\s|$)/);
    expect(line(models.stdout, /^digits\s+1\s+2 \(25%\)/)).toMatch(/^digits\s+1\s+2 \(25%\)\s+2$/);
  });

  it('shadow: the comparison report of the pair 1 → 2 after mirrored traffic', async () => {
    expect((await run(['routing', 'digits', '--primary', '1', '--shadow', '2=100'])).code).toBe(0);
    for (let i = 0; i < 20; i++) await servedVersion(i);
    // Shadow answers are compared after the primary answered: wait until all 20 were.
    await waitFor(async () => (await admin('/admin/models/digits/shadow')).pairs[0]?.compared === 20);
    const r = await run(['shadow', 'digits']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('digits: primary → shadow');
    expect(lines[1]).toMatch(/^\s+1 → 2$/);
    for (const label of ['since', 'mirrored', 'compared', 'dropped', 'agreement', 'top-k agreement', 'max abs diff probabilities', 'JS divergence probabilities', 'latency p50 primary', 'latency p99 shadow']) {
      expect(line(r.stdout, new RegExp(`^${label}\\s`)), label).toBeDefined();
    }
    expect(line(r.stdout, /^mirrored\s/)).toMatch(/\s20$/);
    expect(line(r.stdout, /^compared\s/)).toMatch(/\s20$/);
    expect(line(r.stdout, /^dropped\s/)).toMatch(/\s0$/);
    expect(line(r.stdout, /^agreement\s/)).toMatch(/\s100\.00%$/); // identical weights
    expect(line(r.stdout, /^max abs diff probabilities\s/)).toMatch(/\s0$/);
    const json = await run(['shadow', 'digits', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ model: 'digits', pairs: [{ primary: '1', shadow: '2' }] });
  });

  it('promote, then rollback: each prints the new routing, inferences follow, and events list both', async () => {
    expect((await run(['routing', 'digits', '--primary', '1', '--no-shadows'])).code).toBe(0);
    const promote = await run(['promote', 'digits', '2']);
    expect([promote.code, promote.stderr]).toEqual([0, '']);
    expect(promote.stdout).toContain('  primary           2\n  shadows           -\n  previous primary  1\n');
    expect(await servedVersion()).toBe('2');
    const rollback = await run(['rollback', 'digits']);
    expect([rollback.code, rollback.stderr]).toEqual([0, '']);
    expect(rollback.stdout).toContain('  primary           1\n  shadows           -\n  previous primary  2\n');
    expect(await servedVersion()).toBe('1');
    expect(await admin('/admin/models/digits/routing')).toMatchObject({ primary: '1', shadows: [], previousPrimary: '2' });

    const events = await run(['events', 'digits']);
    expect([events.code, events.stderr]).toEqual([0, '']);
    const [header, ...rest] = events.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^TIME\s+KIND\s+FROM\s+TO\s+BY\s+REASON\s+NUMBERS$/);
    expect(rest.map((l) => l.split(/\s+/)[1])).toContain('routing');
    expect(rest.slice(-2)).toEqual([
      expect.stringMatching(/^\S+Z\s+promote\s+1\s+2\s+admin\s+version 2 promoted to primary, replacing 1$/),
      expect.stringMatching(/^\S+Z\s+rollback\s+2\s+1\s+admin\s+rolled back to version 1 from 2$/),
    ]);
  });

  it('unload and load a version; a refused unload (the primary) is one line, exit 1, and changes nothing', async () => {
    expect((await run(['routing', 'digits', '--primary', '1', '--no-shadows'])).code).toBe(0);
    const refused = await run(['unload', 'digits', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^sluice: SLUICE_ERR_ADMIN_REFUSED: version 1 is the primary of "digits"[^\n]*\n$/);
    expect(await servedVersion()).toBe('1');
    const unload = await run(['unload', 'digits', '2']);
    expect([unload.code, unload.stderr]).toEqual([0, '']);
    expect(unload.stdout).toBe('digits version 2: unloaded (UNAVAILABLE)\n');
    expect(line((await run(['models'])).stdout, /^digits\s+2\s/)).toMatch(/^digits\s+2\s+UNAVAILABLE\s+\w{12}\s+-\s+-\s+unloaded: unload requested$/);
    const asked2 = await postJson(`${t.url}/v2/models/digits/versions/2/infer`, { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: rows[0] }] });
    expect(asked2.status).toBe(503);
    const load = await run(['load', 'digits', '2']);
    expect([load.code, load.stdout, load.stderr]).toEqual([0, 'digits version 2: loaded (READY)\n', '']);
    expect(line((await run(['models'])).stdout, /^digits\s+2\s/)).toMatch(/^digits\s+2\s+READY\s/);
  });

  it('a wrong token: exit 1, one line with the server code, and nothing changed', async () => {
    const before = await admin('/admin/models/digits/routing');
    const r = await run(['promote', 'digits', '2'], { SLUICE_ADMIN_TOKEN: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^sluice: SLUICE_ERR_ADMIN_UNAUTHORIZED: [^\n]+\n$/);
    expect(await admin('/admin/models/digits/routing')).toEqual(before);
  });

  it('a usage error: exit 2, one line, before any request', async () => {
    const r = await run(['routing', 'digits', '--shadow', '2'], { SLUICE_ADMIN_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('sluice: SLUICE_ERR_CONFIG_INVALID: --shadow needs VERSION=PERCENT with PERCENT from 0 to 100, got "2"');
    const none = await run([]);
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([2, 'sluice: SLUICE_ERR_CONFIG_INVALID: missing command']);
  });

  it('--help of sluice and of every command exits 0 with its usage; --version prints the package version', async () => {
    const top = await run(['--help']);
    expect([top.code, top.stdout.split('\n')[0]]).toEqual([0, 'usage: sluice <command> [options]']);
    for (const c of COMMANDS) {
      const r = await run([c.name, '--help']);
      expect([r.code, r.stderr], c.name).toEqual([0, '']);
      expect(r.stdout.split('\n')[0]).toBe(`usage: sluice ${[c.name, ...c.operands].join(' ')} [options]`);
    }
    const serve = await run(['serve', '--help']);
    expect([serve.code, serve.stdout.split('\n')[0]]).toEqual([0, 'usage: sluice serve [options]']);
    expect(serve.stdout).toContain('--admin-port');
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    expect((await run(['--version'])).stdout).toBe(`${pkg.version}\n`);
    expect(pkg.bin.sluice).toBe('dist/src/cli.js');
  });
});

describe('sluice serve', () => {
  it('starts the server like npm start; `sluice models` reaches its admin listener; SIGTERM exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--models', modelsDir, '--workers', '1'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', SLUICE_ADMIN_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The admin port from its log line; ready once the repository has loaded.
    const adminPort = await new Promise<number>((resolve, reject) => {
      let buf = '';
      let port: number | undefined;
      child.stdout.on('data', (d) => {
        buf += String(d);
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const rec = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (rec.msg === 'admin API listening') port = rec.port;
          if (rec.msg === 'repository loaded' && port !== undefined) resolve(port);
        }
      });
      child.on('exit', (code) => reject(new Error(`sluice serve exited ${code}`)));
    });
    try {
      const r = await run(['models', '--url', `http://127.0.0.1:${adminPort}`]);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(/^digits\s+1\s+READY\s/m);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
