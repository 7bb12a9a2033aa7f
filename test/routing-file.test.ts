// routing.json: its strict parse, its wire form, and the atomic write.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RoutingBook } from '../src/routing/book.js';
import { parseRouting, routingFileText, writeFileAtomic } from '../src/routing/table-file.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'sluice-routing-'));
  dirs.push(d);
  return d;
}

function detailOf(raw: unknown): string | undefined {
  try {
    parseRouting(raw);
  } catch (err) {
    expect((err as { code: string }).code).toBe('SLUICE_ERR_ROUTING_INVALID');
    return (err as { details: string[] }).details[0];
  }
  return undefined;
}

describe('parseRouting', () => {
  it('reads versions as numbers, shares as given, fractions allowed', () => {
    expect(parseRouting({ primary: '1', shadows: [{ version: '2', percent: 12.5 }], previousPrimary: '3' })).toEqual({
      primary: 1,
      shadows: [{ version: 2, percent: 12.5 }],
      previousPrimary: 3,
    });
    expect(parseRouting({})).toEqual({ shadows: [] });
  });

  it('refuses every malformed body with the path of the problem', () => {
    expect(detailOf({ primary: 1 })).toBe('/primary: must be a string');
    expect(detailOf({ primary: '01' })).toBe('/primary: must be a version: a positive integer as a string, such as "2"');
    expect(detailOf({ primary: '../1' })).toBe('/primary: must be a version: a positive integer as a string, such as "2"');
    expect(detailOf({ shadows: [{ version: '2', percent: 101 }] })).toBe('/shadows/0/percent: must be a share from 0 to 100');
    expect(detailOf({ shadows: [{ version: '2', percent: -1 }] })).toBe('/shadows/0/percent: must be a share from 0 to 100');
    expect(detailOf({ shadows: [{ version: '2', percent: '25' }] })).toBe('/shadows/0/percent: must be a finite number (a share from 0 to 100)');
    expect(detailOf({ shadows: [{ version: '2', percent: Number.NaN }] })).toBe('/shadows/0/percent: must be a finite number (a share from 0 to 100)');
    expect(detailOf({ shadows: [{ version: '2', percent: Number.POSITIVE_INFINITY }] })).toBe('/shadows/0/percent: must be a finite number (a share from 0 to 100)');
    expect(detailOf({ shadows: [{ version: '2' }] })).toBe('/shadows/0: "percent" is required');
    expect(detailOf({ shadows: [{ version: '2', percent: 5, extra: 1 }] })).toBe('/shadows/0: unknown property "extra"');
    expect(detailOf({ primary: '1', turbo: true })).toBe('(root): unknown property "turbo"');
    expect(detailOf({ shadows: [{ version: '2', percent: 5 }, { version: '2', percent: 6 }] })).toBe('/shadows/1/version: version 2 is listed twice');
    expect(detailOf({ primary: '2', shadows: [{ version: '2', percent: 5 }] })).toBe('/shadows: version 2 is the primary; it cannot shadow itself');
    expect(detailOf([])).toBe('(root): must be an object');
  });

  it('writes the file form back as it reads it', () => {
    const r = parseRouting({ primary: '4', shadows: [{ version: '5', percent: 0.5 }] });
    expect(routingFileText(r)).toBe('{\n  "primary": "4",\n  "shadows": [\n    {\n      "version": "5",\n      "percent": 0.5\n    }\n  ]\n}\n');
    expect(parseRouting(JSON.parse(routingFileText(r)))).toEqual(r);
  });
});

describe('writeFileAtomic and the book', () => {
  it('replaces the file whole and leaves no temporary file behind', async () => {
    const d = await tmp();
    const file = path.join(d, 'routing.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new text');
    expect(await readFile(file, 'utf8')).toBe('new text');
    expect(await readdir(d)).toEqual(['routing.json']);
    await expect(writeFileAtomic(path.join(d, 'missing-dir/routing.json'), 'x')).rejects.toThrow();
    expect(await readdir(d)).toEqual(['routing.json']);
  });

  it('a corrupt file falls back to the default with one warning and is never rewritten; a fixed one takes effect', async () => {
    const d = await tmp();
    const warnings: string[] = [];
    const book = new RoutingBook(d, { warn: (_o, m) => warnings.push(m), info: () => {} });
    book.seen('m', '{"primary": "2"');
    book.seen('m', '{"primary": "2"');
    expect(book.table('m')).toEqual({ shadows: [] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^routing.json is invalid \(not JSON: .*\); the newest READY version answers, no shadows, until it is fixed$/);
    book.seen('m', '{"primary": "2", "shadows": [{"version": "1", "percent": 30}]}');
    expect(book.table('m')).toEqual({ primary: 2, shadows: [{ version: 1, percent: 30 }] });
    book.seen('m', undefined);
    expect(book.table('m')).toEqual({ shadows: [] });
    expect(warnings).toHaveLength(2);
  });

  it('write() puts the file on disk, then in force; a failed write changes nothing', async () => {
    const d = await tmp();
    const book = new RoutingBook(d, { warn: () => {}, info: () => {} });
    const table = parseRouting({ primary: '1', shadows: [{ version: '2', percent: 25 }] });
    await expect(book.write('absent-model', table)).rejects.toThrow();
    expect(book.table('absent-model')).toEqual({ shadows: [] });
    await writeFile(path.join(d, 'keep'), '');
    const modelDir = path.join(d, 'm');
    await (await import('node:fs/promises')).mkdir(modelDir);
    await book.write('m', table);
    expect(book.table('m')).toEqual(table);
    expect(parseRouting(JSON.parse(await readFile(path.join(modelDir, 'routing.json'), 'utf8')))).toEqual(table);
  });
});
