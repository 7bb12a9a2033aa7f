// The drift demo's run (docs/drift.md, `npm run demo:drift`): a real gateway on loopback serving a
// breast-cancer model trained on half the real rows; held-out rows replayed as traffic, each
// answer labelled through /v2/models/{m}/feedback; then the scanner shift (split.ts). Drift rises,
// the trigger fires (a signed webhook to a local receiver, and the retraining job as its command),
// the retrained version appears as a shadow, the promotion gate promotes it. Everything goes
// through the public HTTP API; the run's numbers come back for the test that checks the loop.
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../config/config.js';
import { startGateway } from '../gateway.js';
import { writeVersionDir } from '../train/files.js';
import { loadCsvDataset, type Dataset } from '../train/dataset.js';
import { buildModel, readCodeVersion } from '../train/pipeline.js';
import { BREAST_CANCER } from '../train/specs.js';
import { renderDriftChart, type DriftRun } from './chart.js';
import { DEMO_DRIFT } from './alarms.js';
import { Replayer } from './replayer.js';
import { csvText, shiftedCopy, splitRows } from './split.js';
import { startWebhookReceiver } from './webhook-receiver.js';

export interface DemoOptions {
  /** Where the model repository, logs and chart go (emptied first). */
  readonly outDir: string;
  readonly seed?: number;
  /** Unshifted requests before the shift starts. */
  readonly requestsBeforeShift?: number;
  /** Give up if the shifted replay has not been promoted after this many requests. */
  readonly maxShiftedRequests?: number;
  /** Rows per drift window (model.json drift.windowRows). */
  readonly windowRows?: number;
  say(line: string): void;
}

export interface DemoResult {
  readonly shiftAt: number;
  /** Requests sent when the retrain event fired (null: it never did). */
  readonly firedAt: number | null;
  readonly firedReason: string | null;
  /** Fired before the shift started: a false alarm. */
  readonly falseAlarm: boolean;
  readonly shadowAt: number | null;
  readonly promotedAt: number | null;
  readonly webhook: { readonly received: number; readonly signatureValid: boolean };
  /** Accuracy of each version on the shifted test rows (never sent, never trained on). */
  readonly testAccuracy: { readonly v1: number; readonly v2: number | null };
  readonly run: DriftRun;
  readonly chartPath: string;
  readonly repository: string;
}

const MODEL = 'breast-cancer';
const ADMIN_TOKEN = 'demo-admin-token';
const WEBHOOK_SECRET = 'demo-webhook-secret';
const RETRAIN_CLI = fileURLToPath(new URL('../train/retrain-cli.js', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function runDriftDemo(opts: DemoOptions): Promise<DemoResult> {
  const { outDir, say } = opts;
  const seed = opts.seed ?? 7;
  const windowRows = opts.windowRows ?? 250;
  const requestsBeforeShift = opts.requestsBeforeShift ?? 1500;
  const maxShifted = opts.maxShiftedRequests ?? 8000;
  rmSync(outDir, { recursive: true, force: true });
  const modelsDir = path.join(outDir, 'models');
  const split = splitRows(loadCsvDataset(path.join(PROJECT_ROOT, BREAST_CANCER.dataPath), BREAST_CANCER.format).dataset, seed);
  say(`data: ${split.train.rows} rows train version 1, ${split.traffic.rows} are replayed as traffic, ${split.test.rows} are kept back to judge the versions`);
  trainVersionOne(outDir, split.train);

  const receiver = await startWebhookReceiver(WEBHOOK_SECRET);
  writeModelJson(modelsDir, windowRows, receiver.url);
  const gw = await startGateway(
    resolveConfig({}, {}, {
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      adminToken: ADMIN_TOKEN,
      modelsDir,
      predictionLog: path.join(outDir, 'predictions.log'),
      feedbackLog: path.join(outDir, 'feedback.log'),
      pollIntervalMs: 200,
      retrainWebhookAllow: `${receiver.url}`,
      retrainWebhookSecret: WEBHOOK_SECRET,
      logLevel: 'warn',
      workers: 1,
    }),
    { logDestination: appLogFile(path.join(outDir, 'sluice.log')) },
  );
  say(`gateway on http://127.0.0.1:${gw.port} (admin :${gw.adminPort}), repository ${modelsDir}`);
  try {
    const replay = new Replayer({ gw, model: MODEL, token: ADMIN_TOKEN, traffic: split.traffic, windowRows, seed, say });
    await replay.send(requestsBeforeShift, false);
    const shiftAt = replay.sent;
    say(`--- request ${shiftAt}: the scanner is recalibrated; radius, perimeter and area now read 30% high ---`);
    replay.mark(shiftAt, 'scanner shift', 'shift');
    while (replay.promotedAt === null && replay.sent - shiftAt < maxShifted) await replay.send(windowRows, true);
    if (replay.promotedAt !== null) await replay.send(2 * windowRows, true);
    const testShifted = shiftedCopy(split.test);
    const v1 = await replay.accuracyOf(1, testShifted);
    const v2 = replay.shadowAt === null ? null : await replay.accuracyOf(2, testShifted);
    say(`on the ${testShifted.rows} kept-back rows, shifted: version 1 accuracy ${v1.toFixed(3)}, version 2 ${v2 === null ? 'n/a' : v2.toFixed(3)}`);
    const run = replay.run(`sluice drift demo: ${MODEL}, scanner shift at request ${shiftAt}`);
    const chartPath = path.join(outDir, 'drift-demo.svg');
    writeFileSync(chartPath, renderDriftChart(run));
    say(`chart: ${chartPath}`);
    return {
      shiftAt,
      firedAt: replay.firedAt,
      firedReason: replay.firedReason,
      falseAlarm: replay.firedAt !== null && replay.firedAt <= shiftAt,
      shadowAt: replay.shadowAt,
      promotedAt: replay.promotedAt,
      webhook: { received: receiver.received.length, signatureValid: receiver.received.length > 0 && receiver.received.every((r) => r.signatureValid) },
      testAccuracy: { v1, v2 },
      run,
      chartPath,
      repository: modelsDir,
    };
  } finally {
    await gw.shutdown();
    await receiver.close();
  }
}

function trainVersionOne(outDir: string, train: Dataset): void {
  const modelDir = path.join(outDir, 'models', MODEL);
  mkdirSync(path.join(modelDir, 'data'), { recursive: true });
  writeFileSync(path.join(modelDir, 'data', path.basename(BREAST_CANCER.dataPath)), csvText(train, BREAST_CANCER.classNames));
  const build = buildModel(BREAST_CANCER, { repoRoot: outDir, version: 1, created: new Date().toISOString(), codeVersion: readCodeVersion(PROJECT_ROOT) });
  writeVersionDir(path.join(modelDir, '1'), build.files);
}

/** The bundled model.json plus what the loop needs: drift windows, the trigger, its actions, the gate. */
function writeModelJson(modelsDir: string, windowRows: number, webhookUrl: string): void {
  const base = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'models', MODEL, 'model.json'), 'utf8')) as Record<string, unknown>;
  const config = {
    ...base,
    versionPolicy: { latest: 1 },
    predictionLog: { inputSampleRate: 1 },
    drift: { ...DEMO_DRIFT, windowRows },
    retrain: {
      onDrift: true,
      cooldownSeconds: 600,
      shadowPercent: 100,
      webhook: { url: `${webhookUrl}retrain`, timeoutMs: 2000, retries: 2, backoffMs: 200 },
      command: { argv: ['node', RETRAIN_CLI, MODEL, '--min-labeled', String(windowRows)], timeoutMs: 120_000 },
    },
    promotionGate: { minSamples: windowRows, minLabeled: windowRows, minAccuracyGain: 0.02 },
  };
  writeFileSync(path.join(modelsDir, MODEL, 'model.json'), `${JSON.stringify(config, null, 2)}\n`);
}

function appLogFile(file: string): ReturnType<typeof createWriteStream> {
  return createWriteStream(file, { flags: 'a' });
}
