// Shared by the admin suites: calls to the admin listener, a raw HTTP request (for paths fetch
// would normalize), and a repository with digits versions 1 and 2.
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { answerOf, copyModels, postJson, type TestGateway } from './helpers/gateway.js';
import { digitsRows } from './helpers/ort.js';

export const TOKEN = 'secret';
export const inferBody = { inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: digitsRows(1)[0] }] };

/** Every admin route (src/transport/admin/routes.ts), with a path and body that reach its handler. */
export const ADMIN_ROUTES: readonly [method: string, path: string, body?: unknown][] = [
  ['GET', '/admin/models'],
  ['GET', '/admin/models/digits/routing'],
  ['PUT', '/admin/models/digits/routing', { primary: '1' }],
  ['POST', '/admin/models/digits/promote', { version: '1' }],
  ['POST', '/admin/models/digits/rollback'],
  ['POST', '/admin/models/digits/versions/1/load'],
  ['POST', '/admin/models/digits/versions/1/unload'],
  ['GET', '/admin/models/digits/shadow'],
  ['GET', '/admin/models/digits/events'],
  ['POST', '/admin/models/digits/retrain'],
  ['GET', '/admin/retrain/events'],
  ['POST', '/admin/alerts', { alerts: [] }],
  ['GET', '/metrics'],
];

export interface AdminAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** One admin call with the right token (or `token`; null: no Authorization header). */
export async function admin(
  t: TestGateway,
  method: string,
  urlPath: string,
  body?: unknown,
  opts: { token?: string | null; contentType?: string } = {},
): Promise<AdminAnswer> {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`http://127.0.0.1:${t.gw.adminPort}${urlPath}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return answerOf(res);
}

/** The version an unversioned (or `/versions/{v}`) digits request is answered by. */
export async function versionOf(t: TestGateway, suffix = ''): Promise<string | undefined> {
  return (await postJson(`${t.url}/v2/models/digits${suffix}/infer`, inferBody)).json?.model_version;
}

/**
 * A request line sent as it is (fetch resolves `..` and would never send it): answers the status.
 * Bounded by `timeoutMs`.
 */
export function rawRequest(port: number, method: string, target: string, body = '', timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${method} ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(
        `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** digits with versions 1 and 2 (same weights); `latest` versions served by versionPolicy. */
export async function digitsTwoVersions(latest: number): Promise<string> {
  const dir = await copyModels(['digits']);
  await cp(path.join(dir, 'digits/1'), path.join(dir, 'digits/2'), { recursive: true });
  const file = path.join(dir, 'digits/model.json');
  await writeFile(file, (await readFile(file, 'utf8')).replace('"latest": 1', `"latest": ${latest}`));
  return dir;
}

/** path → sha256 of every file under `dir`: equal snapshots mean no file was touched. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out.set(path.relative(dir, file), createHash('sha256').update(await readFile(file)).digest('hex'));
  }
  return out;
}

export const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);
