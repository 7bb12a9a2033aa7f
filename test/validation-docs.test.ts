// docs/protocol.md's error tables (JSON validation, msgpack, binary extension) must stay in step with src/errors.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\| `(SLUICE_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] as string, Number(m[2])] as const);

describe('docs/protocol.md error table', () => {
  it('lists every request decoding and validation code (JSON, msgpack, binary) with its status from errors.ts', () => {
    expect(rows.length).toBeGreaterThanOrEqual(18);
    for (const [code, status] of rows) {
      expect(ERROR_CODES, code).toHaveProperty(code);
      expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status, code).toBe(status);
    }
    // Decoding and validation areas; of REQUEST_* only the envelope code (REQUEST_CANCELLED is scheduling).
    const wanted = Object.keys(ERROR_CODES).filter(
      (c) => /^SLUICE_ERR_(JSON|MSGPACK|BINARY|INPUT|BATCH|OUTPUT|PARAMETER)_/.test(c) || c === 'SLUICE_ERR_REQUEST_INVALID',
    );
    expect(rows.map(([c]) => c).sort()).toEqual(wanted.sort());
  });
});
