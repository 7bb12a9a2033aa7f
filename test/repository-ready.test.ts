// Readiness during the first scan: the repository is not ready until every model directory
// present at start has been scanned, so no request can meet "no READY version" after
// /v2/health/ready said 200 (seen intermittently in the process test before this check).
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import type * as RepoModule from '../src/repository/repository.js';
import { copyModels, ROOT } from './helpers/gateway.js';

const { ModelRepository } = (await import(path.join(ROOT, 'dist/src/repository/repository.js'))) as typeof RepoModule;

it('is not ready while a later model of the first scan is still unscanned', async () => {
  const dir = await copyModels(['breast-cancer', 'digits']);
  const readyAtEachLoad: boolean[] = [];
  const repo = new ModelRepository<string>(
    dir,
    {
      // Called for breast-cancer (scanned first) and digits; at each, the other is not READY yet.
      load: async (config) => {
        readyAtEachLoad.push(repo.isReady());
        return config.name;
      },
      unload: async () => {},
      log: { info: () => {}, warn: () => {}, error: () => {} },
    },
    { pollIntervalMs: 60_000 },
  );
  // Readiness as a probe would see it right after breast-cancer turns READY.
  const seen: boolean[] = [];
  const onReady = repo.start();
  const probe = setInterval(() => seen.push(repo.isReady()), 0);
  await onReady;
  clearInterval(probe);
  expect(readyAtEachLoad).toEqual([false, false]);
  expect(repo.isReady()).toBe(true);
  expect(repo.resolve('digits').handle).toBe('digits');
  // Once ready, it stays ready: no probe saw true and then false.
  const firstTrue = seen.indexOf(true);
  expect(seen.length).toBeGreaterThan(0);
  expect(firstTrue === -1 || seen.slice(firstTrue).every(Boolean)).toBe(true);
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});
