// The process configuration: command line over SLUICE_* environment over defaults,
// validated once and frozen. The only module that reads process.env (DESIGN §2).
// FIELDS is the one table of settings: the parseArgs options, the environment names, the
// validation and the --help text are all derived from it. Nothing here prints or logs: the
// entry (main.ts) acts on --help/--version, the gateway logs `warnings`.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SluiceError } from '../errors.js';
import { envWarnings } from './env-warnings.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** ONNX Runtime's severities, most verbose first (its own names). */
export type OrtLogLevel = 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
export type ReadyWhen = 'all' | 'any';
export type LogFormat = 'json' | 'pretty';

/** Every setting; each has a flag and a SLUICE_* variable (FIELDS). */
export interface SluiceSettings {
  readonly host: string;
  readonly port: number;
  readonly modelsDir: string;
  /** Worker threads of the CPU pool. */
  readonly workers: number;
  /** Worker threads per cuda:N pool, each with its own session on that GPU. */
  readonly gpuWorkers: number;
  /** Old-generation heap cap of each worker thread, MiB: past it that worker alone is stopped and replaced. */
  readonly workerHeapMb: number;
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
   * Listen with SO_REUSEPORT: share the port with another process already listening on it.
   * Without it sluice refuses to start on a port in use.
   */
  readonly reusePort: boolean;
  /** Admin listener address; loopback by default (the admin API changes what serves). */
  readonly adminHost: string;
  /** Admin listener port (0 picks a free one; the gateway reports the bound one). */
  readonly adminPort: number;
  /**
   * The admin API's bearer token, from SLUICE_ADMIN_TOKEN only: never a flag (a flag shows in
   * `ps` and shell history) and never in --help. Unset: no admin listener at all. Nothing may log
   * it; the admin listener keeps only its SHA-256 digest.
   */
  readonly adminToken: string | undefined;
  /**
   * The prediction log's destination (docs/prediction-log.md): `off`, `stdout`, or a file path
   * (rotated by size, and by age when predictionLogRotateS > 0). model.json `predictionLog` can
   * turn it off per model and set sampling and redaction.
   */
  readonly predictionLog: string;
  /** Rotate the prediction log file once it holds this many bytes. */
  readonly predictionLogMaxBytes: number;
  /** Rotated prediction log files kept beside the live one (older ones are deleted). */
  readonly predictionLogKeep: number;
  /** Also rotate a prediction log file this many seconds after it was opened; 0: by size only. */
  readonly predictionLogRotateS: number;
  /** Bytes of prediction log lines held while the destination is slow; more are dropped and counted. */
  readonly predictionLogBufferBytes: number;
  /** Default share of requests (0..1) whose inputs the prediction log records (model.json overrides). */
  readonly predictionLogInputSample: number;
  /** Most elements of each tensor a prediction log line records. */
  readonly predictionLogMaxValues: number;
  /** Serve /metrics on the admin listener without the admin token. */
  readonly metricsPublic: boolean;
  /** Also serve /metrics (without a token) on the data port. */
  readonly metricsOnDataPort: boolean;
  /** One line per HTTP/WebSocket inference request: `off`, `stdout` or a file path. */
  readonly accessLog: string;
  /** The application log's format: JSON lines, or pino-pretty's human-readable lines. */
  readonly logFormat: LogFormat;
  /** Answer with x-queue-us, x-compute-us and x-batch-size headers (debugging; off by default). */
  readonly debugHeaders: boolean;
  /**
   * Where feedback labels are recorded for the retraining job (docs/drift.md): `off`, `stdout` or
   * a file path (rotated like the prediction log). One JSON line per labelled request.
   */
  readonly feedbackLog: string;
  /** Turn drift tracking off for every model (it is on for each version with a reference.json). */
  readonly disableDrift: boolean;
  /**
   * URL prefixes a model's retrain webhook may post to, comma-separated (docs/drift.md). Empty: no
   * webhook is ever called. A model.json names its webhook, this list (static config) allows it.
   */
  readonly retrainWebhookAllow: string;
  /**
   * Fleet mode (docs/deploy.md): one of N replicas. Drift, accuracy and schedule conditions do not
   * fire a retrain here (each replica would fire its own); Prometheus sees the fleet and its
   * Alertmanager posts to POST /admin/alerts of one replica, which fires once.
   */
  readonly fleetMode: boolean;
  /** Serve with the TypeScript codec even when the native addon is built (src/native/, docs/native.md). */
  readonly disableNative: boolean;
  /** HMAC-SHA256 key of retrain webhook bodies, from SLUICE_RETRAIN_WEBHOOK_SECRET only (never a flag). */
  readonly retrainWebhookSecret: string | undefined;
}

export interface SluiceConfig extends SluiceSettings {
  /**
   * Not a setting: what loading found suspicious but not invalid, one sentence each, for the
   * gateway to log at warn (config itself never logs). Today: unknown SLUICE_* variables, e.g.
   * "unknown environment variable SLUICE_WORKER (did you mean SLUICE_WORKERS?)". Frozen; empty
   * when all is well.
   */
  readonly warnings: readonly string[];
  /**
   * Not a setting: the environment sluice was started with, which a child it starts (the retrain
   * command) inherits. Config is the one reader of process.env (DESIGN §2); the rest is handed this.
   */
  readonly childEnv: Readonly<NodeJS.ProcessEnv>;
}

export const DEFAULT_CONFIG: SluiceConfig = Object.freeze({
  host: '0.0.0.0',
  port: 8000,
  modelsDir: 'models',
  // One core stays with the event loop (HTTP, JSON, batching); the rest run inference.
  workers: Math.max(1, os.availableParallelism() - 1),
  gpuWorkers: 1,
  workerHeapMb: 1024,
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
  reusePort: false,
  adminHost: '127.0.0.1',
  adminPort: 8001,
  adminToken: undefined,
  predictionLog: 'off',
  predictionLogMaxBytes: 100 * 1024 * 1024,
  predictionLogKeep: 5,
  predictionLogRotateS: 0,
  predictionLogBufferBytes: 8 * 1024 * 1024,
  predictionLogInputSample: 0,
  predictionLogMaxValues: 1024,
  metricsPublic: false,
  metricsOnDataPort: false,
  accessLog: 'off',
  logFormat: 'json',
  debugHeaders: false,
  feedbackLog: 'off',
  disableDrift: false,
  retrainWebhookAllow: '',
  fleetMode: false,
  disableNative: false,
  retrainWebhookSecret: undefined,
  warnings: Object.freeze([]),
  childEnv: process.env,
});

type Kind = 'string' | 'int' | 'fraction' | 'bool' | 'level' | 'ortLevel' | 'readyWhen' | 'logFormat';
interface Field {
  key: Exclude<keyof SluiceSettings, SecretKey>;
  /** `--name`; the parseArgs option is the name without the dashes. */
  flag: string;
  env: string;
  kind: Kind;
  min?: number;
  max?: number;
  /** One line for --help (the README Configuration table's meaning column, shortened). */
  help: string;
  /** The value's placeholder in --help (default: N for an int, L for a choice). */
  arg?: string;
  /** The default as --help says it, when DEFAULT_CONFIG's value needs explaining. */
  defaultHelp?: string;
}

const FIELDS: readonly Field[] = [
  { key: 'host', flag: '--host', env: 'SLUICE_HOST', kind: 'string', arg: 'H', help: 'listen address' },
  { key: 'port', flag: '--port', env: 'SLUICE_PORT', kind: 'int', min: 0, max: 65535, arg: 'P', help: 'listen port (0 picks a free one)' },
  { key: 'modelsDir', flag: '--models', env: 'SLUICE_MODELS', kind: 'string', arg: 'DIR', defaultHelp: './models', help: 'model repository' },
  {
    key: 'workers', flag: '--workers', env: 'SLUICE_WORKERS', kind: 'int', min: 1, max: 256,
    defaultHelp: `CPU count - 1, at least 1 (here ${DEFAULT_CONFIG.workers})`,
    help: 'worker threads in the CPU pool',
  },
  {
    key: 'gpuWorkers', flag: '--gpu-workers', env: 'SLUICE_GPU_WORKERS', kind: 'int', min: 1, max: 16,
    help: 'worker threads per cuda:N pool, each holding its own session on that GPU (docs/gpu.md)',
  },
  {
    key: 'workerHeapMb', flag: '--worker-heap-mb', env: 'SLUICE_WORKER_HEAP_MB', kind: 'int', min: 16, max: 1 << 20,
    help: 'JavaScript heap cap per worker thread, MiB: a worker past it is replaced, the process lives on',
  },
  { key: 'intraOpThreads', flag: '--intra-op-threads', env: 'SLUICE_INTRA_OP_THREADS', kind: 'int', min: 1, max: 256, help: 'ONNX Runtime intra-op threads per session' },
  { key: 'allowSpinning', flag: '--allow-spinning', env: 'SLUICE_ALLOW_SPINNING', kind: 'bool', help: 'let ONNX Runtime threads spin while idle' },
  {
    key: 'inlineMaxRunUs', flag: '--inline-max-run-us', env: 'SLUICE_INLINE_MAX_RUN_US', kind: 'int', min: 0, max: 100_000,
    help: 'light models: batches measured to run within N µs run on the main thread while the pool is idle; 0 disables',
  },
  {
    key: 'busyPollUs', flag: '--busy-poll-us', env: 'SLUICE_BUSY_POLL_US', kind: 'int', min: 0, max: 100_000,
    help: 'after each answer, poll N µs for the next request instead of sleeping while no worker runs (up to N µs of one core per answer); 0 disables',
  },
  { key: 'bodyLimitBytes', flag: '--body-limit-bytes', env: 'SLUICE_BODY_LIMIT_BYTES', kind: 'int', min: 1024, max: 1 << 30, help: 'request body cap (413 above it)' },
  { key: 'wsMaxPayloadBytes', flag: '--ws-max-payload-bytes', env: 'SLUICE_WS_MAX_PAYLOAD_BYTES', kind: 'int', min: 1024, max: 1 << 30, help: 'largest WebSocket message' },
  { key: 'wsMaxInflight', flag: '--ws-max-inflight', env: 'SLUICE_WS_MAX_INFLIGHT', kind: 'int', min: 1, max: 65536, help: 'requests running at once per WebSocket' },
  {
    key: 'wsMaxBufferedBytes', flag: '--ws-max-buffered-bytes', env: 'SLUICE_WS_MAX_BUFFERED_BYTES', kind: 'int', min: 1024, max: 1 << 30,
    help: 'answers held for a slow WebSocket reader before it is closed',
  },
  { key: 'wsIdleTimeoutS', flag: '--ws-idle-timeout-s', env: 'SLUICE_WS_IDLE_TIMEOUT_S', kind: 'int', min: 8, max: 3600, help: 'idle WebSocket timeout' },
  { key: 'pollIntervalMs', flag: '--poll-interval-ms', env: 'SLUICE_POLL_INTERVAL_MS', kind: 'int', min: 50, max: 3_600_000, help: 'how often the repository is rescanned' },
  { key: 'drainTimeoutMs', flag: '--drain-timeout-ms', env: 'SLUICE_DRAIN_TIMEOUT_MS', kind: 'int', min: 0, max: 600_000, help: 'how long SIGTERM waits for in-flight requests' },
  { key: 'logLevel', flag: '--log-level', env: 'SLUICE_LOG_LEVEL', kind: 'level', help: 'pino level' },
  { key: 'ortLogLevel', flag: '--ort-log-level', env: 'SLUICE_ORT_LOG_LEVEL', kind: 'ortLevel', help: 'least severe ONNX Runtime message logged' },
  {
    key: 'readyWhen', flag: '--ready-when', env: 'SLUICE_READY_WHEN', kind: 'readyWhen', arg: 'P',
    help: 'readiness: any (some model serves, and every one whose model.json says "required": true) or all (every model but those saying "required": false)',
  },
  { key: 'allowSlowHttp', flag: '--allow-slow-http', env: 'SLUICE_ALLOW_SLOW_HTTP', kind: 'bool', help: "run on uWebSockets.js's pure-JS fallback instead of refusing to start" },
  {
    key: 'reusePort', flag: '--reuse-port', env: 'SLUICE_REUSE_PORT', kind: 'bool',
    help: 'share the port with another process already listening on it (SO_REUSEPORT); without it sluice refuses to start on a port in use',
  },
  { key: 'adminHost', flag: '--admin-host', env: 'SLUICE_ADMIN_HOST', kind: 'string', arg: 'H', help: 'admin listener address (the admin API is off unless SLUICE_ADMIN_TOKEN is set)' },
  { key: 'adminPort', flag: '--admin-port', env: 'SLUICE_ADMIN_PORT', kind: 'int', min: 0, max: 65535, arg: 'P', help: 'admin listener port (0 picks a free one)' },
  { key: 'predictionLog', flag: '--prediction-log', env: 'SLUICE_PREDICTION_LOG', kind: 'string', arg: 'PATH', help: 'prediction log: off, stdout or a file path (one JSON line per prediction, docs/prediction-log.md)' },
  {
    key: 'predictionLogMaxBytes', flag: '--prediction-log-max-bytes', env: 'SLUICE_PREDICTION_LOG_MAX_BYTES', kind: 'int', min: 4096, max: Number.MAX_SAFE_INTEGER,
    defaultHelp: '104857600 (100 MiB)', help: 'rotate the prediction log file at this size',
  },
  { key: 'predictionLogKeep', flag: '--prediction-log-keep', env: 'SLUICE_PREDICTION_LOG_KEEP', kind: 'int', min: 1, max: 10_000, help: 'rotated prediction log files kept' },
  {
    key: 'predictionLogRotateS', flag: '--prediction-log-rotate-s', env: 'SLUICE_PREDICTION_LOG_ROTATE_S', kind: 'int', min: 0, max: 31 * 86_400,
    help: 'also rotate the prediction log file after N seconds; 0: by size only',
  },
  {
    key: 'predictionLogBufferBytes', flag: '--prediction-log-buffer-bytes', env: 'SLUICE_PREDICTION_LOG_BUFFER_BYTES', kind: 'int', min: 4096, max: 1 << 30,
    defaultHelp: '8388608 (8 MiB)', help: 'prediction log lines held while the destination is slow; beyond it lines are dropped and counted',
  },
  {
    key: 'predictionLogInputSample', flag: '--prediction-log-input-sample', env: 'SLUICE_PREDICTION_LOG_INPUT_SAMPLE', kind: 'fraction', arg: 'RATE',
    help: 'share of requests whose inputs are logged (model.json predictionLog.inputSampleRate overrides)',
  },
  { key: 'predictionLogMaxValues', flag: '--prediction-log-max-values', env: 'SLUICE_PREDICTION_LOG_MAX_VALUES', kind: 'int', min: 0, max: 1_000_000, help: 'most elements of each tensor logged' },
  { key: 'metricsPublic', flag: '--metrics-public', env: 'SLUICE_METRICS_PUBLIC', kind: 'bool', help: 'serve /metrics on the admin listener without the admin token' },
  { key: 'metricsOnDataPort', flag: '--metrics-on-data-port', env: 'SLUICE_METRICS_ON_DATA_PORT', kind: 'bool', help: 'also serve /metrics, without a token, on the data port' },
  { key: 'accessLog', flag: '--access-log', env: 'SLUICE_ACCESS_LOG', kind: 'string', arg: 'PATH', help: 'access log: off, stdout or a file path (one line per inference request)' },
  { key: 'logFormat', flag: '--log-format', env: 'SLUICE_LOG_FORMAT', kind: 'logFormat', arg: 'F', help: 'application log format' },
  { key: 'debugHeaders', flag: '--debug-headers', env: 'SLUICE_DEBUG_HEADERS', kind: 'bool', help: 'answer with x-queue-us, x-compute-us and x-batch-size headers' },
  { key: 'feedbackLog', flag: '--feedback-log', env: 'SLUICE_FEEDBACK_LOG', kind: 'string', arg: 'PATH', help: 'feedback log: off, stdout or a file path (labels the retraining job reads, docs/drift.md)' },
  { key: 'disableDrift', flag: '--disable-drift', env: 'SLUICE_DISABLE_DRIFT', kind: 'bool', help: 'no drift tracking (it is on for every version with a reference.json)' },
  {
    key: 'retrainWebhookAllow', flag: '--retrain-webhook-allow', env: 'SLUICE_RETRAIN_WEBHOOK_ALLOW', kind: 'string', arg: 'URLS', defaultHelp: 'none',
    help: 'comma-separated URL prefixes retrain webhooks may post to; none: no webhook is called',
  },
  { key: 'fleetMode', flag: '--fleet-mode', env: 'SLUICE_FLEET_MODE', kind: 'bool', help: 'one replica of a fleet: retrains fire from Alertmanager (POST /admin/alerts) or the admin API, not from this replica\'s own drift, accuracy or schedule' },
  { key: 'disableNative', flag: '--disable-native', env: 'SLUICE_DISABLE_NATIVE', kind: 'bool', help: 'use the TypeScript codec instead of the native addon (docs/native.md)' },
];

/**
 * Settings read from the environment only, never from a flag, and left out of --help: secrets.
 * A variable set to the empty string is refused (unset it instead), so a blank line in an env
 * file cannot turn a secret into "", and so is one with whitespace (a bearer token is one word).
 */
type SecretKey = 'adminToken' | 'retrainWebhookSecret';
const SECRET_FIELDS: readonly { key: SecretKey; env: string }[] = [
  { key: 'adminToken', env: 'SLUICE_ADMIN_TOKEN' },
  { key: 'retrainWebhookSecret', env: 'SLUICE_RETRAIN_WEBHOOK_SECRET' },
];

/**
 * SLUICE_* variables that are not settings here but are read elsewhere (documented with their
 * users), so they draw no "unknown environment variable" warning.
 */
export const NON_SETTING_ENV: readonly string[] = Object.freeze(['SLUICE_ADMIN_URL']);

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const CHOICES: Partial<Record<Kind, readonly string[]>> = {
  level: LEVELS,
  ortLevel: ['verbose', 'info', 'warning', 'error', 'fatal'],
  readyWhen: ['all', 'any'],
  logFormat: ['json', 'pretty'],
};

type OptionSpec = { readonly type: 'string' | 'boolean'; readonly short?: string };
/** parseArgs' option table: a bool setting is a presence flag, every other one takes a value. */
export type ArgvOptionTable = Readonly<Record<string, OptionSpec>>;

/** The settings' parseArgs options, derived from FIELDS (a CLI may merge its own beside them). */
export const CONFIG_OPTIONS: ArgvOptionTable = Object.freeze(
  Object.fromEntries(FIELDS.map((f) => [f.flag.slice(2), Object.freeze({ type: f.kind === 'bool' ? 'boolean' : 'string' })])),
);

function invalid(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFIG_INVALID', message, { cause });
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
    case 'fraction': {
      const x = /^(0|1|0?\.\d+|1\.0*)$/.test(raw) ? Number(raw) : NaN;
      if (!(x >= 0 && x <= 1)) throw invalid(`${source} must be a number in [0, 1], got "${raw}"`);
      return x;
    }
    case 'level':
    case 'ortLevel':
    case 'logFormat':
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

export interface ArgvOptions {
  /** Options parsed beside the settings in the same strict pass (main.ts: --help, --version). */
  readonly extra?: ArgvOptionTable;
  /** Accept bare words (a later subcommand's operands); by default one is refused. */
  readonly allowPositionals?: boolean;
}

export interface ParsedArgv {
  /** By option name without the dashes ("port", "help"): a presence flag is true, a value its raw string. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parses the command line strictly with node:util parseArgs (`--flag value` and `--flag=value`;
 * a bool setting is a presence flag and takes no value). Values are not converted or validated:
 * resolveConfig does that. Throws SLUICE_ERR_CONFIG_INVALID naming the offending argument
 * ("unknown option --x", "--host needs a value"), with parseArgs' own error as `cause`.
 */
export function parseArgv(argv: readonly string[], opts: ArgvOptions = {}): ParsedArgv {
  const options: ArgvOptionTable = { ...CONFIG_OPTIONS, ...opts.extra };
  const allowPositionals = opts.allowPositionals ?? false;
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals });
    return { values: values as ParsedArgv['values'], positionals };
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw err;
    throw invalid(describeArgvError(argv, options, allowPositionals) ?? (err as Error).message, err);
  }
}

/** Our sentence for the first argument strict parsing refused, found in parseArgs' lenient tokens. */
function describeArgvError(argv: readonly string[], options: ArgvOptionTable, allowPositionals: boolean): string | undefined {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'positional') {
      if (!allowPositionals) return `unexpected argument "${t.value}"`;
      continue;
    }
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (spec === undefined) return `unknown option ${t.rawName}`;
    if (spec.type === 'boolean' && t.value !== undefined) return `${t.rawName} is a presence flag and takes no value, got "${t.value}"`;
    if (spec.type === 'string' && t.value === undefined) return `${t.rawName} needs a value`;
    if (spec.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      return `${t.rawName} needs a value, got the option-like "${t.value}" (write ${t.rawName}=${t.value} if that is the value)`;
    }
  }
  return undefined;
}

/**
 * Builds the frozen config from parsed flags (parseArgv's `values`; names it does not know, such
 * as "help", are ignored), `env` and `overrides` (tests), in that order of precedence. Pure: it
 * reads only its arguments, and returns what it found suspicious in `warnings` instead of logging.
 */
export function resolveConfig(
  flags: ParsedArgv['values'],
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<SluiceSettings> = {},
): SluiceConfig {
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const field of FIELDS) {
    const raw = env[field.env];
    if (raw !== undefined) out[field.key] = convert(field, raw, field.env);
  }
  for (const secret of SECRET_FIELDS) {
    const raw = env[secret.env];
    if (raw === '') throw invalid(`${secret.env} must not be empty (unset it instead)`);
    // A bearer token is one word of visible ASCII on the wire (`Authorization: Bearer <token>`):
    // uWS hands header bytes over one character per byte and drops trailing bytes over 0x7e, so a
    // token with other characters could never match.
    if (raw !== undefined && !/^[\x21-\x7e]+$/.test(raw)) throw invalid(`${secret.env} must be visible ASCII (0x21-0x7e: no spaces, no other characters)`);
    if (raw !== undefined) out[secret.key] = raw;
  }
  for (const field of FIELDS) {
    const value = flags[field.flag.slice(2)];
    if (value === true) out[field.key] = true;
    else if (typeof value === 'string') out[field.key] = convert(field, value, field.flag);
  }
  Object.assign(out, overrides);
  out.modelsDir = path.resolve(out.modelsDir as string);
  out.warnings = Object.freeze(envWarnings(env, [...FIELDS.map((f) => f.env), ...SECRET_FIELDS.map((f) => f.env), ...NON_SETTING_ENV]));
  out.childEnv = env;
  return Object.freeze(out as unknown as SluiceConfig);
}

/**
 * Builds the frozen config from `argv` (the arguments after the script, process.argv.slice(2))
 * and `env` (process.env by default). Unknown flags are errors: a typo must not silently serve
 * with defaults. An unknown SLUICE_* variable is only a warning (the environment is shared).
 */
export function loadConfig(
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<SluiceSettings> = {},
): SluiceConfig {
  return resolveConfig(parseArgv(argv).values, env, overrides);
}

export const CONFIG_FLAGS: readonly { flag: string; env: string }[] = FIELDS.map((f) => ({ flag: f.flag, env: f.env }));

/**
 * The settings part of --help: per setting, a line with the flag, its value, its variable and its
 * default, then its meaning (with the range or the choices) indented. The caller adds the usage
 * line and its own options.
 */
export function formatSettingsHelp(): string {
  return FIELDS.map((f) => {
    const choices = CHOICES[f.kind];
    const arg = f.kind === 'bool' ? '' : ` ${f.arg ?? (choices ? 'L' : 'N')}`;
    const fallback = DEFAULT_CONFIG[f.key];
    const dflt = f.defaultHelp ?? (typeof fallback === 'boolean' ? (fallback ? 'on' : 'off') : String(fallback));
    const domain = f.kind === 'int' ? `; ${f.min}..${f.max}` : f.kind === 'fraction' ? '; 0..1' : choices ? `: ${choices.join(', ')}` : '';
    return `  ${f.flag}${arg}  ${f.env}  default: ${dflt}\n      ${f.help}${domain}\n`;
  }).join('');
}
