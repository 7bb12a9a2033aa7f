// The whole loop, end to end, through the public HTTP API (the drift demo's run, demo/drift-demo.ts):
// real breast-cancer rows replayed into a real gateway, labelled through /feedback; the scanner
// shift makes drift rise; the trigger fires once, after the shift and not before; the signed webhook
// reaches a local receiver that checks the HMAC; the retraining job (the model's command) writes
// version 2 with its lineage and registers it as a shadow; the promotion gate promotes it; and on
// shifted rows that were never sent nor trained on, version 2 is more accurate than version 1
// (checked here again with a direct onnxruntime run of both model files).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import type * as DemoModule from '../src/demo/drift-demo.js';
import { ROOT } from './helpers/gateway.js';
import { shiftedCopy, splitRows } from '../src/demo/split.js';
import { loadCsvDataset } from '../src/train/dataset.js';
import { BREAST_CANCER } from '../src/train/specs.js';

async function accuracyOf(modelFile: string, x: Float64Array, y: Int32Array, cols: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelFile);
  const rows = y.length;
  const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(x), [rows, cols]) });
  const labels = out.label!.data as BigInt64Array;
  let right = 0;
  for (let i = 0; i < rows; i++) if (Number(labels[i]) === y[i]) right++;
  return right / rows;
}

// The built demo (dist/): the gateway it starts reads package.json relative to its own file.
const { runDriftDemo } = (await import(path.join(ROOT, 'dist/src/demo/drift-demo.js'))) as typeof DemoModule;

it('drift after the shift fires the trigger once, the job retrains, the shadow is promoted and is better on shifted held-out rows', async () => {
  const outDir = path.join(os.tmpdir(), `sluice-drift-e2e-${process.pid}`);
  const lines: string[] = [];
  const r = await runDriftDemo({ outDir, seed: 7, say: (l) => lines.push(l) });

  expect(r.falseAlarm).toBe(false);
  expect(r.firedReason).toBe('drift');
  expect(r.firedAt).not.toBeNull();
  expect(r.firedAt! - r.shiftAt).toBeGreaterThanOrEqual(3 * 250); // K windows of 250 rows at least
  expect(r.shadowAt).not.toBeNull();
  expect(r.promotedAt).not.toBeNull();
  expect(r.promotedAt!).toBeGreaterThan(r.shadowAt!);
  expect(r.webhook).toEqual({ received: 1, signatureValid: true });

  // What the job wrote: routing and lineage.
  const modelDir = path.join(r.repository, 'breast-cancer');
  const routing = JSON.parse(readFileSync(path.join(modelDir, 'routing.json'), 'utf8'));
  expect(routing.primary).toBe('2');
  expect(routing.previousPrimary).toBe('1');
  const meta = JSON.parse(readFileSync(path.join(modelDir, '2', 'meta.json'), 'utf8'));
  expect(meta.parentVersion).toBe(1);
  expect(meta.version).toBe(2);
  expect(meta.trigger?.reason).toBe('drift');

  // Shifted held-out rows, judged by onnxruntime directly.
  const data = loadCsvDataset(path.join(process.cwd(), BREAST_CANCER.dataPath), BREAST_CANCER.format).dataset;
  const test = shiftedCopy(splitRows(data, 7).test);
  const v1 = await accuracyOf(path.join(modelDir, '1', 'model.onnx'), test.x, test.y, test.cols);
  const v2 = await accuracyOf(path.join(modelDir, '2', 'model.onnx'), test.x, test.y, test.cols);
  expect(v2).toBeGreaterThan(v1);
  expect(r.testAccuracy).toEqual({ v1, v2 });

  // The run's report: steps printed, the chart written.
  expect(lines.some((l) => l.includes('RETRAIN TRIGGER fired'))).toBe(true);
  expect(lines.some((l) => l.includes('PROMOTED by the gate'))).toBe(true);
  expect(readFileSync(r.chartPath, 'utf8')).toContain('<svg');
}, 240_000);
