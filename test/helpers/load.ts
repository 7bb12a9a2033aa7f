// A bounded closed-loop load on loopback: `clients` concurrent loops, each sending one
// request after the other until stop() (or `maxMs`), recording every status.
import { postJson } from './gateway.js';

export interface LoadResult {
  total: number;
  byStatus: Map<number, number>;
  failures: { status: number; code?: string }[];
  versions: Map<string, number>;
}

export function startLoad(url: string, body: unknown, clients: number, maxMs = 30_000) {
  let stopped = false;
  const result: LoadResult = { total: 0, byStatus: new Map(), failures: [], versions: new Map() };
  const deadline = Date.now() + maxMs;
  const loop = async () => {
    while (!stopped && Date.now() < deadline) {
      let status = 0;
      let code: string | undefined;
      let version: string | undefined;
      try {
        const r = await postJson(url, body);
        status = r.status;
        code = r.json?.code;
        version = r.json?.model_version;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        code = `fetch: ${cause?.code ?? (err as Error).message}`;
      }
      result.total++;
      result.byStatus.set(status, (result.byStatus.get(status) ?? 0) + 1);
      if (status !== 200) result.failures.push({ status, code });
      if (version) result.versions.set(version, (result.versions.get(version) ?? 0) + 1);
      // Like a load balancer's upstream: stop sending to a server that says it is leaving.
      if (code === 'SLUICE_ERR_SHUTTING_DOWN' || code === 'fetch: ECONNREFUSED') return;
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    result,
    async stop(): Promise<LoadResult> {
      stopped = true;
      await Promise.all(loops);
      return result;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(stepMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
