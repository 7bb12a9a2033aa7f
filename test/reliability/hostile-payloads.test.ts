// Issue 15, hostile payloads over real HTTP: a seeded corpus (bench/lib/hostile-corpus.ts) of malformed JSON,
// msgpack and binary-extension bodies sent to a running gateway. Every case gets a 4xx with the
// code the rules give (random mutations: any 4xx whose status matches its code, or a 200 when the
// edit left a valid request), never a 5xx, within a time bound; a valid request succeeds
// afterwards. The corpus runs twice, with the native core and with --disable-native, and every
// answer must be byte for byte the same.
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { hostileCorpus, hostileHeaders, type HostileCase } from '../../bench/lib/hostile-corpus.js';

const CORPUS = hostileCorpus(15, 1500);
const PER_CASE_MS = 2000;
const CONCURRENCY = 8;

interface Answer {
  status: number;
  /** The body as text (msgpack answers: their JSON rendering). */
  text: string;
  ms: number;
}


async function send(url: string, c: HostileCase): Promise<Answer> {
  const headers = hostileHeaders(c);
  const t0 = performance.now();
  const res = await fetch(`${url}/v2/models/digits/infer`, { method: 'POST', headers, body: c.body, signal: AbortSignal.timeout(10_000) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const msgpack = (res.headers.get('content-type') ?? '').includes('msgpack');
  const text = msgpack ? JSON.stringify(unpack(bytes), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : ArrayBuffer.isView(v) ? Array.from(v as Float32Array, String) : v)) : bytes.toString('utf8');
  return { status: res.status, text, ms: performance.now() - t0 };
}

async function runCorpus(url: string): Promise<Answer[]> {
  const out = new Array<Answer>(CORPUS.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CORPUS.length) {
        const i = next++;
        out[i] = await send(url, CORPUS[i]!);
      }
    }),
  );
  return out;
}

const VALID = { id: 'ok', inputs: [{ name: 'pixels', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => (i * 7) % 17) }] };
const validCase: HostileCase = { name: 'valid', format: 'json', body: Buffer.from(JSON.stringify(VALID)) };

const runs: { label: string; answers: Answer[]; before: Answer; after: Answer; logs: Record<string, unknown>[] }[] = [];

beforeAll(async () => {
  for (const [label, disableNative] of [['addon', false], ['fallback', true]] as const) {
    const t: TestGateway = await startTestGateway({ models: ['digits'], config: { disableNative } });
    try {
      const before = await send(t.url, validCase);
      const answers = await runCorpus(t.url);
      const after = await send(t.url, validCase);
      runs.push({ label, answers, before, after, logs: t.logs });
    } finally {
      await t.stop();
    }
  }
}, 240_000);

afterAll(() => {
  runs.length = 0;
});

describe('hostile payloads over HTTP (JSON, msgpack, binary extension)', () => {
  it(`the corpus is ${CORPUS.length} cases of every format`, () => {
    expect(CORPUS.length).toBeGreaterThan(1500);
    for (const f of ['json', 'msgpack', 'binary']) expect(CORPUS.filter((c) => c.format === f).length).toBeGreaterThan(5);
  });

  it('every hand-made case gets its code, with the status the code has', () => {
    for (const run of runs) {
      const wrong: string[] = [];
      CORPUS.forEach((c, i) => {
        if (c.code === undefined) return;
        const a = run.answers[i]!;
        const code = (JSON.parse(a.text) as { code?: string }).code;
        if (a.status !== ERROR_CODES[c.code].status || code !== c.code) wrong.push(`${c.name}: ${a.status} ${a.text.slice(0, 200)}`);
      });
      expect(wrong, run.label).toEqual([]);
    }
  });

  it('every mutation: a 4xx whose code is known and carries that status, or 200 with an answer; never a 5xx', () => {
    for (const run of runs) {
      const seen = new Map<string, number>();
      CORPUS.forEach((c, i) => {
        if (c.code !== undefined) return;
        const a = run.answers[i]!;
        const body = JSON.parse(a.text) as { code?: string; outputs?: unknown[] };
        const key = a.status === 200 ? 'ok' : String(body.code);
        seen.set(key, (seen.get(key) ?? 0) + 1);
        if (a.status === 200) {
          expect(c.mayPass, c.name).toBe(true);
          expect(Array.isArray(body.outputs) && body.outputs.length > 0, c.name).toBe(true);
          return;
        }
        expect(body.code! in ERROR_CODES, `${c.name}: ${a.text}`).toBe(true);
        expect(a.status, `${c.name}: ${a.text}`).toBe(ERROR_CODES[body.code as ErrorCode].status);
        expect(a.status, c.name).toBeLessThan(500);
      });
      // The mutations reach the parser, the envelope and the element rules.
      for (const code of ['SLUICE_ERR_JSON_MALFORMED', 'SLUICE_ERR_REQUEST_INVALID', 'SLUICE_ERR_MSGPACK_MALFORMED']) expect([...seen.keys()], run.label).toContain(code);
      expect(seen.size, run.label).toBeGreaterThan(5);
    }
  });

  it(`every case is answered within ${PER_CASE_MS} ms, and a valid request succeeds before and after`, () => {
    for (const run of runs) {
      const slow = run.answers.map((a, i) => [CORPUS[i]!.name, a.ms] as const).filter(([, ms]) => ms > PER_CASE_MS);
      expect(slow, run.label).toEqual([]);
      expect(run.before.status, run.label).toBe(200);
      expect(run.after.text, run.label).toBe(run.before.text);
      expect(run.logs.filter((l) => (l.level as number) >= 50), run.label).toEqual([]);
    }
  });

  it('the native core and the fallback answer every case byte for byte alike', () => {
    const [a, b] = runs;
    expect(a!.label).toBe('addon');
    const differ = CORPUS.map((c, i) => [c.name, a!.answers[i]!, b!.answers[i]!] as const).filter(([, x, y]) => x.status !== y.status || x.text !== y.text);
    expect(differ.map(([n, x, y]) => `${n}: ${x.status} ${x.text.slice(0, 120)} | ${y.status} ${y.text.slice(0, 120)}`)).toEqual([]);
  });
});
