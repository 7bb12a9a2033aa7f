import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SluiceError, toSluiceError } from '../src/errors.js';

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes and statuses of src/errors.ts', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(SLUICE_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    const table = Object.entries(ERROR_CODES).map(([code, v]) => [code, v.status]);
    expect(rows).toEqual(table);
  });

  it('every code is SLUICE_ERR_<AREA>_<WHAT> with a 4xx/5xx status', () => {
    for (const [code, v] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^SLUICE_ERR_[A-Z]+_[A-Z_]+$/);
      expect(v.status).toBeGreaterThanOrEqual(400);
      expect(v.status).toBeLessThan(600);
    }
  });

  it('wire shape has error, code and capped details; never a stack', () => {
    const e = new SluiceError('SLUICE_ERR_INPUT_SHAPE', 'bad shape', { details: Array.from({ length: 100 }, (_, i) => `/x/${i}`) });
    const wire = e.toWire();
    expect(Object.keys(wire)).toEqual(['error', 'code', 'details']);
    expect(wire.details).toHaveLength(20);
    expect(JSON.stringify(wire)).not.toMatch(/at .*\.ts/);
    expect(new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', 'x').toWire()).toEqual({ error: 'x', code: 'SLUICE_ERR_MODEL_NOT_FOUND' });
  });

  it('foreign errors map to SLUICE_ERR_SERVER_INTERNAL and keep the cause', () => {
    const cause = new TypeError('boom');
    const e = toSluiceError(cause);
    expect(e.code).toBe('SLUICE_ERR_SERVER_INTERNAL');
    expect(e.status).toBe(500);
    expect(e.cause).toBe(cause);
    expect(e.toWire().error).toBe('internal error');
  });
});
