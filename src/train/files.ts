// Atomic writes of a model version directory. A reader (the repository watcher) sees either
// no version directory or a complete one: a new directory is staged under a dot-name the
// watcher ignores and renamed into place; files of an existing directory are each replaced
// by write-to-temp + fsync + rename, so no file is ever seen half-written.

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `files` (name → bytes, written in Map order) into `dir`, creating parents.
 * Throws on any I/O error; a staging directory or temp file left behind by a crash is
 * named `.<version>.tmp-<pid>` / `<file>.tmp-<pid>` and is overwritten by the next run.
 */
export function writeVersionDir(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  if (!existsSync(dir)) {
    const staging = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    for (const [name, bytes] of files) writeDurably(join(staging, name), bytes);
    renameSync(staging, dir);
    syncDir(parent);
    return;
  }
  for (const [name, bytes] of files) writeFileAtomic(join(dir, name), bytes);
  syncDir(dir);
}

/** tmp + fsync + rename in the file's own directory. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeDurably(tmp, bytes);
  renameSync(tmp, path);
}

function writeDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename durable; best effort where directories cannot be opened for sync. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
