// drift.maxSampledPerSecond is a budget for the answers drift can bin: refused requests (here 400s
// for a wrong shape, which reach the data plane and get an event) must not spend it, or a burst of
// bad requests would leave the served traffic untracked. Read back through GET .../drift.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOf, copyModels, postJson, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { waitFor } from './helpers/load.js';
import { breastRows } from './helpers/ort.js';

const CAP = 10;
const rows = breastRows(CAP);
let t: TestGateway;

beforeAll(async () => {
  const dir = await copyModels(['breast-cancer']);
  const file = path.join(dir, 'breast-cancer/model.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...config, drift: { windowRows: 1000, maxSampledPerSecond: CAP } }));
  t = await startTestGateway({ modelsDir: dir });
});
afterAll(async () => {
  await t?.stop();
});

const driftReport = async () => (await answerOf(await fetch(`${t.url}/v2/models/breast-cancer/drift`))).json;

describe('drift sampling budget', () => {
  it('refusals take no tokens: after 4x the cap in 400s, a cap of served requests is binned in full', async () => {
    const bad = await Promise.all(
      Array.from({ length: 4 * CAP }, (_, i) => postJson(`${t.url}/v2/models/breast-cancer/infer`, { id: `bad-${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 29], data: rows[0]!.slice(1) }] })),
    );
    expect(bad.map((r) => r.status)).toEqual(new Array(4 * CAP).fill(400));
    const good = await Promise.all(
      rows.map((row, i) => postJson(`${t.url}/v2/models/breast-cancer/infer`, { id: `good-${i}`, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 30], data: row }] })),
    );
    expect(good.map((r) => r.status)).toEqual(new Array(CAP).fill(200));
    // Events reach the monitor on a later tick; give them time, then read the final count.
    await waitFor(async () => (await driftReport()).versions[0].rows >= CAP, 3_000).catch(() => undefined);
    const report = await driftReport();
    expect(report.versions[0], JSON.stringify(report).slice(0, 400)).toMatchObject({ tracking: true, rows: CAP });
  });
});
