// Starts a real gateway in this process from the built code (dist/), on an ephemeral port,
// over a private copy of a model repository, and collects its log lines.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type * as GatewayModule from '../../src/gateway.js';
import type * as ConfigModule from '../../src/config/config.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODELS = path.join(ROOT, 'models');

// Worker threads need compiled JavaScript, so integration tests run the build output
// (npm test builds first); the types still come from src/.
const gatewayMod = (await import(path.join(ROOT, 'dist/src/gateway.js'))) as typeof GatewayModule;
const configMod = (await import(path.join(ROOT, 'dist/src/config/config.js'))) as typeof ConfigModule;

export interface TestGateway {
  gw: GatewayModule.Gateway;
  url: string;
  modelsDir: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Copies only model.json and version dirs of the named models (data files stay behind). */
export async function copyModels(names: string[], into?: string): Promise<string> {
  const dir = into ?? (await mkdtemp(path.join(os.tmpdir(), 'sluice-models-')));
  for (const name of names) {
    await cp(path.join(MODELS, name), path.join(dir, name), {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}data`),
    });
  }
  return dir;
}

export async function startTestGateway(
  opts: {
    models?: string[];
    modelsDir?: string;
    config?: Partial<ConfigModule.SluiceConfig>;
    /** Passed to startGateway, e.g. `{ workerFile: FAULT_WORKER }` (test/fixtures/fault-worker.mjs). */
    gateway?: Omit<GatewayModule.GatewayOptions, 'logDestination'>;
  } = {},
): Promise<TestGateway> {
  const modelsDir = opts.modelsDir ?? (await copyModels(opts.models ?? ['digits', 'breast-cancer']));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const config = configMod.loadConfig([], {}, {
    host: '127.0.0.1',
    port: 0,
    modelsDir,
    workers: 2,
    pollIntervalMs: 200,
    logLevel: 'info',
    ...opts.config,
  });
  const gw = await gatewayMod.startGateway(config, { ...opts.gateway, logDestination: sink });
  return {
    gw,
    url: `http://127.0.0.1:${gw.port}`,
    modelsDir,
    logs,
    async stop() {
      await gw.shutdown();
      if (!opts.modelsDir) await rm(modelsDir, { recursive: true, force: true });
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answerOf(res);
}

/** An HTTP answer with its text and, when the text is JSON, its parsed body (else undefined). */
export async function answerOf(res: Response): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function getJson(url: string) {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
