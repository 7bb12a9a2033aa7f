// The GPU pack tests' shared pieces: the CLI run in-process, and what the dynamic loader says of
// the installed provider, asked through ldd: an oracle independent of sluice's dlopen probe.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../../src/cli/run.js';

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { env, stdout: (s) => (out += s), stderr: (s) => (err += s), version: '0.0.0-test' });
  return { code, out, err };
}

/** The libraries ldd cannot find for `file`, in the loader's order. */
export function lddNotFound(file: string): string[] {
  const text = execFileSync('ldd', [file], { encoding: 'utf8' });
  return [...text.matchAll(/^\s*(\S+) => not found$/gm)].map((m) => m[1]!);
}

/** A stand-in onnxruntime-node package folder: its package.json and an empty bin folder. */
export async function fakeOnnxruntime(dir: string, version: string): Promise<{ root: string; binDir: string }> {
  const binDir = path.join(dir, 'bin', 'napi-v6', process.platform, process.arch);
  await mkdir(binDir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version }));
  return { root: dir, binDir };
}
