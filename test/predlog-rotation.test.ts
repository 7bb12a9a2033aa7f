// Rotation under load: with a tiny size limit the log rotates many times while requests run
// concurrently; afterwards the sequence numbers across all files are complete and unique (no line
// lost or written twice across a rotation), and with a cap only the newest files are kept.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { postJson, startTestGateway } from './helpers/gateway.js';

async function load(url: string, n: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const r = await postJson(`${url}/v2/models/digits/infer`, { id: `r-${i}`, inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 64], data: Array.from({ length: 64 }, (_, k) => (i + k) % 17) }] });
        expect(r.status).toBe(200);
      }
    }),
  );
}

async function seqsIn(dir: string): Promise<{ files: string[]; seqs: number[] }> {
  const files = (await readdir(dir)).filter((f) => f.startsWith('predictions.log')).sort();
  const seqs: number[] = [];
  for (const f of files) {
    for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) if (line !== '') seqs.push(JSON.parse(line).seq);
  }
  return { files, seqs };
}

describe('prediction log rotation', () => {
  it('rotates by size under load with no sequence number lost or repeated', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-rotate-'));
    const t = await startTestGateway({ models: ['digits'], config: { predictionLog: path.join(dir, 'predictions.log'), predictionLogMaxBytes: 4096, predictionLogKeep: 10_000 } });
    await load(t.url, 800, 16);
    await t.stop();
    const { files, seqs } = await seqsIn(dir);
    expect(files.length).toBeGreaterThan(5);
    expect(seqs).toHaveLength(800);
    expect(new Set(seqs).size).toBe(800);
    expect(Math.min(...seqs)).toBe(0);
    expect(Math.max(...seqs)).toBe(799);
    // Newest first: predictions.log.1 holds lines older than the live file, .2 older than .1, ...
    const firstSeq = async (f: string) => JSON.parse((await readFile(path.join(dir, f), 'utf8')).split('\n')[0]!).seq as number;
    expect(await firstSeq('predictions.log.2')).toBeLessThan(await firstSeq('predictions.log.1'));
    expect(await firstSeq('predictions.log.1')).toBeLessThan(await firstSeq('predictions.log'));
  }, 60_000);

  it('keeps at most `keep` rotated files, the newest, contiguous up to the last line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-rotate-'));
    const t = await startTestGateway({ models: ['digits'], config: { predictionLog: path.join(dir, 'predictions.log'), predictionLogMaxBytes: 4096, predictionLogKeep: 2 } });
    await load(t.url, 400, 4);
    await t.stop();
    const { files, seqs } = await seqsIn(dir);
    expect(files).toEqual(['predictions.log', 'predictions.log.1', 'predictions.log.2']);
    const sorted = [...seqs].sort((a, b) => a - b);
    expect(sorted.at(-1)).toBe(399);
    expect(sorted).toEqual(Array.from({ length: sorted.length }, (_, i) => sorted[0]! + i));
  }, 60_000);
});
