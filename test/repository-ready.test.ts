// Readiness during the first scan: the repository is not ready until every model directory
// present at start has been scanned, so no request can meet "no READY version" after
// /v2/health/ready said 200 (seen intermittently in the process test before this check).
// Deterministic: readiness is read at every state change of the first scan (onState runs
// synchronously inside the scan), not sampled by a timer that may never fire at the moment
// that matters.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { expect, it } from 'vitest';
import type * as RepoModule from '../src/repository/repository.js';
import { copyModels, ROOT } from './helpers/gateway.js';

const { ModelRepository } = (await import(path.join(ROOT, 'dist/src/repository/repository.js'))) as typeof RepoModule;

it('is not ready while a later model of the first scan is still unscanned, and ready once it ends', async () => {
  const dir = await copyModels(['breast-cancer', 'digits']);
  const timeline: string[] = [];
  const repo = new ModelRepository<string>(
    dir,
    {
      load: async (file, version) => {
        timeline.push(`load ${file.name}/${version} ready=${repo.isReady()}`);
        return file.name;
      },
      unload: async () => {},
      log: { info: () => {}, warn: () => {}, error: () => {} },
      onState: (model, version, state) => timeline.push(`${state} ${model}/${version} ready=${repo.isReady()}`),
    },
    { pollIntervalMs: 60_000 },
  );
  expect(repo.isReady()).toBe(false);
  const onReady = repo.start();
  expect(repo.isReady()).toBe(false);
  await onReady;
  timeline.push(`start resolved ready=${repo.isReady()}`);
  // Models are scanned in name order. At "READY breast-cancer/1" one model serves and digits is
  // not even in the table yet: a repository that counted only the models it has met would say
  // ready=true there, and a probe at that moment would get 200 before digits can answer.
  expect(timeline).toEqual([
    'LOADING breast-cancer/1 ready=false',
    'load breast-cancer/1 ready=false',
    'READY breast-cancer/1 ready=false',
    'LOADING digits/1 ready=false',
    'load digits/1 ready=false',
    'READY digits/1 ready=false',
    'start resolved ready=true',
  ]);
  expect(repo.resolve('digits').handle).toBe('digits');
  expect(repo.resolve('breast-cancer').handle).toBe('breast-cancer');
  // Once ready it stays ready: a rescan that finds nothing changed changes no state.
  await repo.rescan();
  expect(repo.isReady()).toBe(true);
  expect(timeline.length).toBe(7);
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});
