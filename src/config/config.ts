// The process configuration: command line over SLUICE_* environment over defaults,
// validated once and frozen. The only module that reads process.env (DESIGN §2).
import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '../errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** ONNX Runtime's severities, most verbose first (its own names). */
export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
export type ReadyWhen = 'all' | 'any';

export interface SluiceConfig {
  readonly host: string;
  readonly port: number;
  readonly modelsDir: string;
  /** Worker threads per CPU pool (a cuda:N pool always has one). */
  readonly workers: number;
  /** ONNX Runtime intra-op threads per session. */
  readonly intraOpThreads: number;
  /** Intra-op spinning burns a core while idle; off by default (DESIGN §6). */
  readonly allowSpinning: boolean;
  /**
   * Batches of a light model whose measured run takes at most this many µs run on the main
   * thread while the pool is idle, saving the worker round trip at low load; 0 disables.
   */
  readonly inlineMaxRunUs: number;
  /**
   * After each served answer the event loop keeps polling this many µs instead of sleeping, while no
   * worker runs a batch (util/busy-poll.ts): the next request of a client finds it awake. 0 disables.
   */
  readonly busyPollUs: number;
  readonly bodyLimitBytes: number;
  /** WebSocket: largest message; a bigger one closes the connection (uWS). */
  readonly wsMaxPayloadBytes: number;
  /** WebSocket: requests a connection may have running at once. */
  readonly wsMaxInflight: number;
  /** WebSocket: answers a connection may have waiting for a slow reader before it is closed. */
  readonly wsMaxBufferedBytes: number;
  /** WebSocket: seconds without traffic before a connection is closed (pings keep it alive). */
  readonly wsIdleTimeoutS: number;
  /** How often the repository watcher rescans model directories. */
  readonly pollIntervalMs: number;
  /** How long SIGTERM waits for in-flight requests before closing anyway. */
  readonly drainTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Least severe ONNX Runtime message logged (load-time messages, read per version; see docs/models.md). */
  readonly ortLogLevel: OrtLogLevel;
  /**
   * Readiness: `any` — ready when some model serves and every model whose model.json says
   * `"required": true` does; `all` — every model must serve, except those saying `"required": false`.
   */
  readonly readyWhen: ReadyWhen;
  /** Start on uWebSockets.js's pure-JS fallback instead of refusing (slow). */
  readonly allowSlowHttp: boolean;
  /**
   * Test-only: every batch holds one request (the batcher's maxBatchSize becomes 1). Exists
   * so the CI benchmark gate can be shown to fail on a deliberately slower gateway.
   */
  readonly testDisableBatching: boolean;
}

export const DEFAULT_CONFIG: SluiceConfig = Object.freeze({
  host: '0.0.0.0',
  port: 8000,
  modelsDir: 'models',
  // One core stays with the event loop (HTTP, JSON, batching); the rest run inference.
  workers: Math.max(1, os.availableParallelism() - 1),
  intraOpThreads: 1,
  allowSpinning: false,
  inlineMaxRunUs: 200,
  busyPollUs: 300,
  bodyLimitBytes: 8 * 1024 * 1024,
  wsMaxPayloadBytes: 8 * 1024 * 1024,
  wsMaxInflight: 256,
  wsMaxBufferedBytes: 16 * 1024 * 1024,
  wsIdleTimeoutS: 120,
  pollIntervalMs: 2000,
  drainTimeoutMs: 10_000,
  logLevel: 'info',
  ortLogLevel: 'warning',
  readyWhen: 'any',
  allowSlowHttp: false,
  testDisableBatching: false,
});

type Kind = 'string' | 'int' | 'bool' | 'level' | 'ortLevel' | 'readyWhen';
interface Field {
  key: keyof SluiceConfig;
  flag: string;
  env: string;
  kind: Kind;
  min?: number;
  max?: number;
}

const FIELDS: Field[] = [
  { key: 'host', flag: '--host', env: 'SLUICE_HOST', kind: 'string' },
  { key: 'port', flag: '--port', env: 'SLUICE_PORT', kind: 'int', min: 0, max: 65535 },
  { key: 'modelsDir', flag: '--models', env: 'SLUICE_MODELS', kind: 'string' },
  { key: 'workers', flag: '--workers', env: 'SLUICE_WORKERS', kind: 'int', min: 1, max: 256 },
  { key: 'intraOpThreads', flag: '--intra-op-threads', env: 'SLUICE_INTRA_OP_THREADS', kind: 'int', min: 1, max: 256 },
  { key: 'allowSpinning', flag: '--allow-spinning', env: 'SLUICE_ALLOW_SPINNING', kind: 'bool' },
  { key: 'inlineMaxRunUs', flag: '--inline-max-run-us', env: 'SLUICE_INLINE_MAX_RUN_US', kind: 'int', min: 0, max: 100_000 },
  { key: 'busyPollUs', flag: '--busy-poll-us', env: 'SLUICE_BUSY_POLL_US', kind: 'int', min: 0, max: 100_000 },
  { key: 'bodyLimitBytes', flag: '--body-limit-bytes', env: 'SLUICE_BODY_LIMIT_BYTES', kind: 'int', min: 1024, max: 1 << 30 },
  { key: 'wsMaxPayloadBytes', flag: '--ws-max-payload-bytes', env: 'SLUICE_WS_MAX_PAYLOAD_BYTES', kind: 'int', min: 1024, max: 1 << 30 },
  { key: 'wsMaxInflight', flag: '--ws-max-inflight', env: 'SLUICE_WS_MAX_INFLIGHT', kind: 'int', min: 1, max: 65536 },
  { key: 'wsMaxBufferedBytes', flag: '--ws-max-buffered-bytes', env: 'SLUICE_WS_MAX_BUFFERED_BYTES', kind: 'int', min: 1024, max: 1 << 30 },
  { key: 'wsIdleTimeoutS', flag: '--ws-idle-timeout-s', env: 'SLUICE_WS_IDLE_TIMEOUT_S', kind: 'int', min: 8, max: 3600 },
  { key: 'pollIntervalMs', flag: '--poll-interval-ms', env: 'SLUICE_POLL_INTERVAL_MS', kind: 'int', min: 50, max: 3_600_000 },
  { key: 'drainTimeoutMs', flag: '--drain-timeout-ms', env: 'SLUICE_DRAIN_TIMEOUT_MS', kind: 'int', min: 0, max: 600_000 },
  { key: 'logLevel', flag: '--log-level', env: 'SLUICE_LOG_LEVEL', kind: 'level' },
  { key: 'ortLogLevel', flag: '--ort-log-level', env: 'SLUICE_ORT_LOG_LEVEL', kind: 'ortLevel' },
  { key: 'readyWhen', flag: '--ready-when', env: 'SLUICE_READY_WHEN', kind: 'readyWhen' },
  { key: 'allowSlowHttp', flag: '--allow-slow-http', env: 'SLUICE_ALLOW_SLOW_HTTP', kind: 'bool' },
  { key: 'testDisableBatching', flag: '--test-disable-batching', env: 'SLUICE_TEST_DISABLE_BATCHING', kind: 'bool' },
];

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const CHOICES: Partial<Record<Kind, readonly string[]>> = {
  level: LEVELS,
  ortLevel: ['verbose', 'info', 'warning', 'error', 'fatal'],
  readyWhen: ['all', 'any'],
};

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFIG_INVALID', message);
}

function convert(field: Field, raw: string, source: string): unknown {
  switch (field.kind) {
    case 'string':
      if (raw === '') throw invalid(`${source} must not be empty`);
      return raw;
    case 'bool':
      if (['1', 'true', 'yes', 'on', ''].includes(raw)) return true;
      if (['0', 'false', 'no', 'off'].includes(raw)) return false;
      throw invalid(`${source} must be true or false, got "${raw}"`);
    case 'level':
    case 'ortLevel':
    case 'readyWhen': {
      const choices = CHOICES[field.kind] ?? [];
      if (!choices.includes(raw)) throw invalid(`${source} must be one of ${choices.join(', ')}`);
      return raw;
    }
    case 'int': {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < (field.min ?? 0) || n > (field.max ?? Number.MAX_SAFE_INTEGER)) {
        throw invalid(`${source} must be an integer in [${field.min}, ${field.max}], got "${raw}"`);
      }
      return n;
    }
  }
}

/**
 * Builds the frozen config. `argv` is the arguments after the script (process.argv.slice(2));
 * `env` defaults to process.env. Unknown flags are errors: a typo must not silently serve
 * with defaults.
 */
export function loadConfig(
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<SluiceConfig> = {},
): SluiceConfig {
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const field of FIELDS) {
    const raw = env[field.env];
    if (raw !== undefined) out[field.key] = convert(field, raw, field.env);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const field = FIELDS.find((f) => f.flag === name);
    if (!field) throw invalid(`unknown option ${name}`);
    let value: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (value === undefined) {
      const next = argv[i + 1];
      if (field.kind === 'bool' && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw invalid(`${name} needs a value`);
      else value = argv[++i];
    }
    out[field.key] = convert(field, value as string, name);
  }
  Object.assign(out, overrides);
  out.modelsDir = path.resolve(out.modelsDir as string);
  return Object.freeze(out as unknown as SluiceConfig);
}

export const CONFIG_FLAGS: readonly { flag: string; env: string }[] = FIELDS.map((f) => ({ flag: f.flag, env: f.env }));
