// Where prediction log lines go: a file rotated by size (and optionally age), or stdout, written
// without ever blocking the event loop or holding unbounded memory (DESIGN §8).
//
// Contract:
// - write(line) and writeWith(maxBytes, fill) are synchronous and O(1): the line joins a buffer of
//   at most `bufferBytes`; when it does not fit (writeWith: when `maxBytes` does not) it is
//   dropped and counted (`buffer_full`). Nothing else can make a write fail.
// - One write to the destination at a time (fs.write on libuv's pool), lines in order, whole
//   lines only. A slab being filled is written LINGER_MS after its first line (or at once when it
//   is full, half the buffer is taken, or close() waits), so lines reach the file within ~10 ms in
//   batches of many lines, not one fs.write per line or two.
// - A failed write (ENOSPC on /dev/full, EIO, a closed fd) drops the lines it held, counted as
//   `write_error`; the next batch tries again (reopening a file that could not be opened at most
//   once a second).
// - Rotation happens between two writes, so no line is split, lost or written twice across it:
//   live file → PATH.1, PATH.1 → PATH.2, …, beyond `keep` deleted; a new live file is opened.
// - close() writes what is buffered (up to `closeTimeoutMs`, after which the rest is dropped and
//   counted as `closed`), closes the file and resolves; later writes are dropped as `closed`.
// Writing it here rather than with sonic-boom or pino-roll: both hide when a line is dropped
// (sonic-boom drops a whole buffer on error without saying how many lines; pino-roll rotates in a
// worker whose losses the process cannot count), and the log's promise is "lost lines are counted".
import { constants, promises as fsp } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';

import type { SluiceSettings } from '../config/config.js';

export type DropReason = 'buffer_full' | 'write_error' | 'closed';

/** The --prediction-log-* size, keep, age and buffer flags, which the feedback log shares. */
export type RotationSettings = Pick<SluiceSettings, 'predictionLogMaxBytes' | 'predictionLogKeep' | 'predictionLogRotateS' | 'predictionLogBufferBytes' | 'drainTimeoutMs'>;

/** LineFileOptions' sizes from the flags; close waits max(1 s, the drain timeout). */
export function rotationOf(s: RotationSettings): Pick<LineFileOptions, 'maxBytes' | 'keep' | 'rotateMs' | 'bufferBytes' | 'closeTimeoutMs'> {
  return { maxBytes: s.predictionLogMaxBytes, keep: s.predictionLogKeep, rotateMs: s.predictionLogRotateS * 1000, bufferBytes: s.predictionLogBufferBytes, closeTimeoutMs: Math.max(1000, s.drainTimeoutMs) };
}

export interface LineFileOptions {
  /** A file path, or 'stdout'. */
  readonly destination: string;
  readonly maxBytes: number;
  readonly keep: number;
  /** Rotate a file this long after it was opened; 0: by size only. */
  readonly rotateMs: number;
  readonly bufferBytes: number;
  readonly closeTimeoutMs: number;
  nowMs(): number;
  /** `lines` were dropped for `reason`; `err` for write errors. Must not throw. */
  onDropped(reason: DropReason, lines: number, err?: Error): void;
  /** `lines` of `bytes` reached the destination. Must not throw. */
  onWritten(lines: number, bytes: number): void;
  /** Rotation or reopen trouble that loses no line (the log keeps writing where it can). */
  onTrouble(message: string, err: Error): void;
}

/**
 * Lines are encoded at once into slabs of this size (off the JS heap: a buffered line is not a
 * string the garbage collector has to keep moving); one fs.write writes one slab.
 */
const SLAB_BYTES = 256 * 1024;
/**
 * How long a slab's first line waits for company before the slab is written. Writing whenever the
 * writer was free made a write of 1–15 lines at a time under load: each fs.write is a trip through
 * libuv's pool (wake-ups on both sides) that cost the 2-vCPU box more than the lines themselves.
 */
const LINGER_MS = 10;
const REOPEN_EVERY_MS = 1000;
const ROTATE_RETRY_MS = 60_000;

interface Slab {
  readonly buf: Buffer;
  used: number;
  lines: number;
}

export class LineFile {
  /** Filled slabs waiting for the writer, oldest first; `current` takes new lines. */
  private sealed: Slab[] = [];
  private current: Slab | undefined;
  /** An emptied slab kept for reuse (most of the time one is being written, one filled). */
  private spare: Buffer | undefined;
  private bufferedBytes = 0;
  private writing = false;
  /** Armed while lines of the current slab wait for LINGER_MS. */
  private lingerTimer: NodeJS.Timeout | undefined;
  /** A flush is waiting: write everything now, no lingering. */
  private draining = false;
  private closed = false;
  private fd: number | undefined;
  private fileBytes = 0;
  private openedMs = 0;
  private lastOpenTryMs = Number.NEGATIVE_INFINITY;
  /** Only a regular file rotates (not /dev/null, a FIFO, a terminal). */
  private rotatable = false;
  /** After a failed rotation, the next try waits (the live file keeps growing meanwhile). */
  private rotateAfterMs = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly isStdout: boolean;

  constructor(private readonly opts: LineFileOptions) {
    this.isStdout = opts.destination === 'stdout';
    if (this.isStdout) this.fd = 1;
  }

  /** Bytes waiting to be written. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** Takes one whole line (with its newline). Never throws, never blocks. */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    const slab = this.admit(bytes);
    if (slab === undefined) return;
    slab.used += slab.buf.write(line, slab.used);
    this.took(slab, bytes);
  }

  /**
   * Takes one whole line that `fill` writes at `buf[at..]` in place, in at most `maxBytes`
   * bytes, returning its end: no copy. `fill` must not throw.
   */
  writeWith(maxBytes: number, fill: (buf: Buffer, at: number) => number): void {
    const slab = this.admit(maxBytes);
    if (slab === undefined) return;
    const bytes = fill(slab.buf, slab.used) - slab.used;
    slab.used += bytes;
    this.took(slab, bytes);
  }

  /** The slab with room for a line of `bytes`; undefined (the line counted as dropped) when it cannot be taken. */
  private admit(bytes: number): Slab | undefined {
    if (this.closed) {
      this.opts.onDropped('closed', 1);
      return undefined;
    }
    if (this.bufferedBytes + bytes > this.opts.bufferBytes) {
      this.opts.onDropped('buffer_full', 1);
      return undefined;
    }
    let slab = this.current;
    if (slab === undefined || slab.buf.length - slab.used < bytes) {
      if (slab !== undefined && slab.used > 0) this.sealed.push(slab);
      const reuse = this.spare !== undefined && this.spare.length >= bytes ? this.spare : undefined;
      if (reuse) this.spare = undefined;
      slab = this.current = { buf: reuse ?? Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, bytes)), used: 0, lines: 0 };
    }
    return slab;
  }

  private took(slab: Slab, bytes: number): void {
    slab.lines++;
    this.bufferedBytes += bytes;
    if (!this.writing) this.schedule();
  }

  /** Starts the writer now when a write is due, else arms the linger timer for the current slab. */
  private schedule(): void {
    if (this.sealed.length > 0 || this.draining || this.bufferedBytes * 2 >= this.opts.bufferBytes) {
      void this.pump(true);
      return;
    }
    if (this.lingerTimer !== undefined || this.bufferedBytes === 0) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (!this.writing) void this.pump(true);
    }, LINGER_MS);
    this.lingerTimer.unref(); // close() flushes; the timer alone must not keep the process up
  }

  /** Resolves once everything buffered so far was written (or dropped). */
  private flush(): Promise<void> {
    if (!this.writing && this.bufferedBytes === 0) return Promise.resolve();
    this.draining = true;
    const done = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (!this.writing) this.schedule();
    return done;
  }

  /** Writes what is buffered (at most closeTimeoutMs), then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.opts.closeTimeoutMs))),
    ]);
    clearTimeout(timer);
    this.closed = true;
    if (timedOut) {
      const left = this.sealed.reduce((n, s) => n + s.lines, this.current?.lines ?? 0);
      this.sealed = [];
      this.current = undefined;
      this.bufferedBytes = 0;
      if (left > 0) this.opts.onDropped('closed', left);
    }
    if (this.fd !== undefined && !this.isStdout) {
      const fd = this.fd;
      this.fd = undefined;
      await new Promise<void>((r) => fs.close(fd, () => r()));
    }
  }

  /** The slab being filled, if it has lines (it is sealed by taking it). */
  private takeCurrent(): Slab | undefined {
    const current = this.current;
    if (current === undefined || current.used === 0) return undefined;
    this.current = undefined;
    return current;
  }

  /** Writes the sealed slabs, and the current one once when `current` (or all of it while draining). */
  private async pump(current: boolean): Promise<void> {
    this.writing = true;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    let withCurrent = current;
    try {
      while (this.bufferedBytes > 0) {
        if (!this.isStdout) await this.ensureFile();
        let slab = this.sealed.shift();
        if (slab === undefined && (withCurrent || this.draining)) {
          slab = this.takeCurrent();
          withCurrent = false;
        }
        if (slab === undefined) break; // the current slab lingers; or close() timed out meanwhile and counted what was left
        this.bufferedBytes -= slab.used;
        if (this.fd === undefined) {
          this.opts.onDropped('write_error', slab.lines, new Error(`prediction log ${this.opts.destination} is not open`));
        } else {
          try {
            await writeAll(this.fd, slab.buf.subarray(0, slab.used));
            this.fileBytes += slab.used;
            this.opts.onWritten(slab.lines, slab.used);
          } catch (err) {
            this.opts.onDropped('write_error', slab.lines, err as Error);
          }
        }
        if (slab.buf.length === SLAB_BYTES) this.spare = slab.buf;
      }
    } finally {
      this.writing = false;
      if (this.draining) {
        // Everything was written (the loop drains while a flush waits), or close() gave up on it.
        this.draining = false;
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
      if (this.bufferedBytes > 0) this.schedule();
    }
  }

  /** Rotates when due and (re)opens the live file, between two writes. */
  private async ensureFile(): Promise<void> {
    const now0 = this.opts.nowMs();
    const due =
      this.fd !== undefined &&
      this.rotatable &&
      now0 >= this.rotateAfterMs &&
      (this.fileBytes >= this.opts.maxBytes || (this.opts.rotateMs > 0 && now0 - this.openedMs >= this.opts.rotateMs));
    if (due) await this.rotate();
    if (this.fd !== undefined) return;
    const now = this.opts.nowMs();
    if (now - this.lastOpenTryMs < REOPEN_EVERY_MS) return;
    this.lastOpenTryMs = now;
    try {
      const fd = await openAppend(this.opts.destination);
      const st = await new Promise<fs.Stats | undefined>((resolve) => fs.fstat(fd, (err, s) => resolve(err ? undefined : s)));
      this.fileBytes = st?.size ?? 0;
      this.rotatable = st?.isFile() ?? false;
      this.fd = fd;
      this.openedMs = now;
    } catch (err) {
      this.opts.onTrouble(`cannot open the prediction log ${this.opts.destination}`, err as Error);
    }
  }

  private async rotate(): Promise<void> {
    const fd = this.fd!;
    this.fd = undefined;
    await new Promise<void>((r) => fs.close(fd, () => r()));
    const p = this.opts.destination;
    try {
      // Only the rotated files that exist are moved: PATH.N beyond keep − 1 is deleted, the others shift by one.
      const base = path.basename(p);
      const held = (await fsp.readdir(path.dirname(p)))
        .map((f) => (f.startsWith(`${base}.`) ? Number(f.slice(base.length + 1)) : NaN))
        .filter((n) => Number.isSafeInteger(n) && n >= 1)
        .sort((a, b) => b - a);
      for (const i of held) {
        if (i >= this.opts.keep) await fsp.rm(`${p}.${i}`, { force: true });
        else await fsp.rename(`${p}.${i}`, `${p}.${i + 1}`);
      }
      await fsp.rename(p, `${p}.1`);
    } catch (err) {
      this.rotateAfterMs = this.opts.nowMs() + ROTATE_RETRY_MS;
      this.opts.onTrouble(`cannot rotate the prediction log ${p}; writing on in the live file`, err as Error);
    }
    this.lastOpenTryMs = Number.NEGATIVE_INFINITY;
  }
}

/** A raw fd (not a FileHandle, which would close itself when collected): this class closes it. */
function openAppend(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      fs.write(fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err) reject(err);
        else if (offset + n < buf.length) step(offset + n);
        else resolve();
      });
    };
    step(0);
  });
}
