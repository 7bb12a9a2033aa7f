// The two Dockerfiles, read as text: what deploy/rehearse/rehearse-image.sh showed by building
// and running them (docs/deploy.md) stays true of the files themselves. The runtime stage runs
// node under tini as a non-root user; no install script runs; the GPU base's CUDA major is the
// one package.json's gpuPack was built for; the build context leaves out what breaks a build.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_PACK } from '../src/gpu/pack.js';
import { ROOT } from './helpers/gateway.js';

const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8');

/** Instructions of the last stage (the runtime image), continuation lines joined. */
function lastStage(text: string): string[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const from = lines.map((l, i) => (/^FROM /i.test(l) ? i : -1)).filter((i) => i >= 0);
  return lines.slice(from[from.length - 1]);
}

describe.each(['Dockerfile', 'Dockerfile.gpu'])('%s', (file) => {
  const text = read(file);
  const runtime = lastStage(text);
  it('installs with npm ci --ignore-scripts, builds, and makes the runtime set with the npm script', () => {
    expect(text).toMatch(/^RUN npm ci --ignore-scripts\b/m);
    expect(text).toMatch(/^RUN npm run build && npm run runtime-set -- \/runtime$/m);
  });
  it('runs node itself under tini, as a non-root user, from the runtime set alone', () => {
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(runtime).toContain('CMD ["node", "--single-threaded-gc", "dist/src/main.js"]');
    const user = runtime.filter((l) => l.startsWith('USER ')).pop();
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(runtime.filter((l) => /^COPY /.test(l) && !l.includes('--from=build'))).toEqual([]);
    expect(runtime.join('\n')).not.toMatch(/npm (ci|install|start)|\btsc\b/);
    expect(runtime.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/v2/health/ready'))).toBe(true);
  });
});

it('the GPU image installs the pinned pack into the runtime set, on a CUDA base of the pack major', () => {
  const text = read('Dockerfile.gpu');
  const base = /^ARG CUDA_IMAGE=nvidia\/cuda:(\d+)\.\d+\.\d+-cudnn-runtime-/m.exec(text);
  expect(base?.[1]).toBe(GPU_PACK.cuda);
  expect(text).toMatch(/^RUN node \/runtime\/dist\/src\/cli\.js gpu install --ort-dir \/runtime\/node_modules\/onnxruntime-node$/m);
});

it('the build context leaves out what a checkout holds but an image must not', () => {
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', '.git', 'native/build', '.gpu-carry', '.gpu-stage']) expect(ignored).toContain(p);
});
