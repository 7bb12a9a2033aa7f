// The prediction log's writer thread (predlog.ts starts it): takes records from the shared ring
// (record-ring.ts), writes each as its JSON line (line-bytes.ts) into the file (line-file.ts), and
// tells the main thread what was written and dropped. The main thread keeps the counting promise:
// every record it pushed is written, or dropped and counted by reason here.
import { parentPort, workerData } from 'node:worker_threads';

import { LineEncoder, lineBound } from './line-bytes.js';
import { LineFile, type DropReason, type LineFileOptions } from './line-file.js';
import type { PredictionRecord } from './record.js';
import { RingReader, type RingBuffers } from './record-ring.js';

export interface LogWorkerData {
  readonly ring: RingBuffers;
  readonly file: Omit<LineFileOptions, 'nowMs' | 'onDropped' | 'onWritten' | 'onTrouble'>;
}

/** What the worker tells the main thread: counts since its last report. */
export type LogWorkerReport =
  | {
      readonly type: 'report';
      readonly writtenLines: number;
      readonly writtenBytes: number;
      readonly dropped: Partial<Record<DropReason, number>>;
      /** The last write error's message, when lines were dropped for one. */
      readonly error?: string;
      /** Bytes the file's buffer holds now. */
      readonly buffered: number;
      readonly troubles: readonly { message: string; err: string }[];
    }
  | { readonly type: 'closed' };

/** How often the ring is drained (lines wait for company in the file anyway: line-file.ts). */
const POLL_MS = 2;
/** Reports go out at most this often while lines flow, and at close. */
const REPORT_EVERY_MS = 100;

const data = workerData as LogWorkerData;
const port = parentPort!;
const reader = new RingReader(data.ring);
const encoder = new LineEncoder();

let writtenLines = 0;
let writtenBytes = 0;
let dropped: Partial<Record<DropReason, number>> = {};
let lastError: string | undefined;
let troubles: { message: string; err: string }[] = [];
let lastReportMs = 0;

const file = new LineFile({
  ...data.file,
  nowMs: Date.now,
  onDropped: (reason, lines, err) => {
    dropped[reason] = (dropped[reason] ?? 0) + lines;
    if (err) lastError = err.message;
  },
  onWritten: (lines, bytes) => {
    writtenLines += lines;
    writtenBytes += bytes;
  },
  onTrouble: (message, err) => troubles.push({ message, err: err.message }),
});

let timeMs = Number.NaN;
let timeIso = '';
let pending: PredictionRecord | undefined;
const fill = (buf: Buffer, at: number): number => encoder.encodeInto(pending!, timeIso, buf, at);

function take(r: PredictionRecord, t: number): void {
  if (t !== timeMs) {
    timeMs = t;
    timeIso = new Date(t).toISOString();
  }
  pending = r;
  file.writeWith(lineBound(r, timeIso), fill);
  pending = undefined;
}

function report(force: boolean): void {
  const now = Date.now();
  const changed = writtenLines > 0 || Object.keys(dropped).length > 0 || troubles.length > 0;
  if (!force && (!changed || now - lastReportMs < REPORT_EVERY_MS)) return;
  lastReportMs = now;
  const msg: LogWorkerReport = { type: 'report', writtenLines, writtenBytes, dropped, buffered: file.buffered, troubles, ...(lastError === undefined ? {} : { error: lastError }) };
  port.postMessage(msg);
  writtenLines = writtenBytes = 0;
  dropped = {};
  lastError = undefined;
  troubles = [];
}

let timer: NodeJS.Timeout | undefined;
let closing = false;

function tick(): void {
  reader.drain(take);
  report(false);
  if (!closing) timer = setTimeout(tick, POLL_MS);
}

port.on('message', (m: { type: 'close' }) => {
  if (m.type !== 'close' || closing) return;
  closing = true;
  clearTimeout(timer);
  reader.drain(take);
  void file.close().then(() => {
    report(true);
    port.postMessage({ type: 'closed' } satisfies LogWorkerReport);
    port.close();
  });
});

tick();
