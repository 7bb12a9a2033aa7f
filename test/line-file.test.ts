// LineFile (src/predlog/line-file.ts), the prediction and feedback logs' writer: lines wait for
// company before a write (one fs.write per many lines, not per line), still reach the file on
// their own within moments, and close() writes what waits at once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';

import { LineFile } from '../src/predlog/line-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lineFile(): { file: LineFile; dest: string; writes: number[]; dropped: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-line-file-'));
  dirs.push(dir);
  const dest = path.join(dir, 'lines.log');
  const writes: number[] = [];
  const dropped: string[] = [];
  const file = new LineFile({
    destination: dest,
    maxBytes: 1 << 30,
    keep: 2,
    rotateMs: 0,
    bufferBytes: 8 << 20,
    closeTimeoutMs: 5_000,
    nowMs: () => Date.now(),
    onDropped: (reason, lines) => dropped.push(`${reason} ${lines}`),
    onWritten: (lines) => writes.push(lines),
    onTrouble: () => {},
  });
  return { file, dest, writes, dropped };
}

const lines = (dest: string): string[] => readFileSync(dest, 'utf8').split('\n').filter((l) => l !== '');

it('batches lines that arrive turn by turn into few writes, in order, none lost', async () => {
  const { file, dest, writes, dropped } = lineFile();
  const turns = 100;
  const started = performance.now();
  for (let t = 0; t < turns; t++) {
    for (let i = 0; i < 5; i++) file.write(`{"seq":${t * 5 + i}}\n`);
    await sleep(1); // a burst a millisecond, as answers come under load
  }
  const elapsedMs = performance.now() - started;
  await file.close();
  expect(lines(dest).map((l) => JSON.parse(l).seq)).toEqual(Array.from({ length: turns * 5 }, (_, i) => i));
  expect(dropped).toEqual([]);
  expect(writes.reduce((a, b) => a + b, 0)).toBe(turns * 5);
  // At most about one write per linger (10 ms) and the last one at close; writing whenever the
  // writer was free made one write per burst here (93 of 100 bursts in ~120 ms).
  expect(writes.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 8) + 2);
});

it('a lone line reaches the file by itself, without close()', async () => {
  const { file, dest, writes } = lineFile();
  file.write('{"seq":0}\n');
  const deadline = Date.now() + 5_000;
  while (writes.length === 0 && Date.now() < deadline) await sleep(5);
  expect(lines(dest)).toEqual(['{"seq":0}']);
  await file.close();
});

it('close() writes the lines that are waiting at once, and later lines are dropped as closed', async () => {
  const { file, dest, dropped } = lineFile();
  file.write('{"seq":0}\n');
  file.writeWith(64, (buf, at) => at + buf.write('{"seq":1}\n', at));
  await file.close();
  expect(lines(dest)).toEqual(['{"seq":0}', '{"seq":1}']);
  file.write('{"seq":2}\n');
  expect(dropped).toEqual(['closed 1']);
});
