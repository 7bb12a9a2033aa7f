// model.json batching.maxShadowQueueSize: the bound on one version's shadow copies (docs/shadow.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/errors.js';
import { parseModelFile } from '../src/repository/model-file.js';
import { resolveModelConfig } from '../src/repository/resolve-config.js';

const digits = JSON.parse(readFileSync(new URL('../models/digits/model.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const withBatching = (batching: Record<string, unknown>) => ({ ...digits, batching: { ...(digits.batching as object), ...batching } });
const resolved = (raw: unknown) => resolveModelConfig(parseModelFile(raw, 'digits'), undefined).batching;

describe('batching.maxShadowQueueSize', () => {
  it('defaults to two full batches, never above maxQueueSize', () => {
    expect(resolved(withBatching({ maxBatchSize: 32, maxQueueSize: 4096 })).maxShadowQueueSize).toBe(64);
    expect(resolved(withBatching({ maxBatchSize: 32, maxQueueSize: 10 })).maxShadowQueueSize).toBe(10);
  });

  it('takes the value model.json gives, above maxQueueSize too (the lanes are bounded apart)', () => {
    expect(resolved(withBatching({ maxShadowQueueSize: 3 })).maxShadowQueueSize).toBe(3);
    expect(resolved(withBatching({ maxQueueSize: 8, maxShadowQueueSize: 500 })).maxShadowQueueSize).toBe(500);
  });

  it('refuses 0, fractions and strings with SLUICE_ERR_MODEL_CONFIG_INVALID naming the field', () => {
    for (const bad of [0, 1.5, '4']) {
      const err = (() => { try { parseModelFile(withBatching({ maxShadowQueueSize: bad }), 'digits'); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('SLUICE_ERR_MODEL_CONFIG_INVALID');
      expect(JSON.stringify((err as SluiceError).details)).toMatch(/maxShadowQueueSize/);
    }
  });
});
