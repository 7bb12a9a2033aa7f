// Sends the drift demo's traffic and watches the loop through the public API: each request is a
// real OIP infer over HTTP followed by its ground-truth label on /v2/models/{m}/feedback; after each
// drift window it reads GET /v2/models/{m}/drift, the admin API's retrain events, routing and
// model events, and tells what changed, one line per step.
import type { Gateway } from '../gateway.js';
import type { Dataset } from '../train/dataset.js';
import { Prng } from '../train/prng.js';
import type { DriftRun } from './chart.js';
import { rowOf } from './split.js';

export interface ReplayerOptions {
  readonly gw: Gateway;
  readonly model: string;
  readonly token: string;
  readonly traffic: Dataset;
  readonly windowRows: number;
  readonly seed: number;
  say(line: string): void;
}

/** Requests in flight at once (a few clients). */
const CONCURRENCY = 4;
/** Rows per request when judging a version on the test set (≤ maxBatchSize). */
const TEST_BATCH_ROWS = 64;

interface DriftVersion {
  version: string;
  role: string;
  accuracy: { accuracy: number | null; labeled: number };
  history?: { score: number | null }[];
}

export class Replayer {
  sent = 0;
  firedAt: number | null = null;
  firedReason: string | null = null;
  shadowAt: number | null = null;
  promotedAt: number | null = null;
  private threshold = 0;
  private readonly prng: Prng;
  private readonly windows: DriftRun['windows'] = [];
  private readonly accuracy: DriftRun['accuracy'] = [];
  private readonly markers: DriftRun['markers'] = [];
  private readonly seenWindows = new Map<string, number>();
  private readonly data: string;
  private readonly admin: string;

  constructor(private readonly o: ReplayerOptions) {
    this.prng = new Prng(o.seed);
    this.data = `http://127.0.0.1:${o.gw.port}`;
    this.admin = `http://127.0.0.1:${o.gw.adminPort}`;
  }

  /** Sends `n` requests (a multiple of windowRows keeps the report in step), labelling each. */
  async send(n: number, shifted: boolean): Promise<void> {
    for (let done = 0; done < n; ) {
      const chunk = Math.min(this.o.windowRows, n - done);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < chunk) {
            next++;
            await this.one(shifted);
          }
        }),
      );
      done += chunk;
      await this.observe();
    }
  }

  mark(requests: number, label: string, kind: DriftRun['markers'][number]['kind']): void {
    this.markers.push({ requests, label, kind });
  }

  /** Accuracy of `version` on `data` through /v2/models/{m}/versions/{v}/infer. */
  async accuracyOf(version: number, data: Dataset): Promise<number> {
    let right = 0;
    for (let start = 0; start < data.rows; start += TEST_BATCH_ROWS) {
      const rows = Math.min(TEST_BATCH_ROWS, data.rows - start);
      const flat = Array.from(data.x.subarray(start * data.cols, (start + rows) * data.cols));
      const r = await this.post(`${this.data}/v2/models/${this.o.model}/versions/${version}/infer`, { inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, data.cols], data: flat }] });
      const labels = (r.outputs as { name: string; data: number[] }[]).find((t) => t.name === 'label')!.data;
      for (let i = 0; i < rows; i++) if (labels[i] === data.y[start + i]) right++;
    }
    return right / data.rows;
  }

  run(title: string): DriftRun {
    return { title, windows: this.windows, threshold: this.threshold, accuracy: this.accuracy, markers: this.markers };
  }

  private async one(shifted: boolean): Promise<void> {
    const r = this.prng.nextInt(this.o.traffic.rows);
    const id = `demo-${++this.sent}`;
    const features = rowOf(this.o.traffic, r, shifted);
    await this.post(`${this.data}/v2/models/${this.o.model}/infer`, { id, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, features.length], data: features }] });
    await this.post(`${this.data}/v2/models/${this.o.model}/feedback`, { id, label: this.o.traffic.y[r] });
  }

  /** Reads the loop's state after a window and says what changed. */
  private async observe(): Promise<void> {
    const drift = (await this.get(`${this.data}/v2/models/${this.o.model}/drift`)) as { primary: string | null; settings: { threshold: number }; versions: DriftVersion[] };
    this.threshold = drift.settings.threshold;
    const primary = drift.versions.find((v) => v.role === 'primary');
    const shadow = drift.versions.find((v) => v.role === 'shadow');
    if (primary?.history && primary.history.length > (this.seenWindows.get(primary.version) ?? 0)) {
      this.seenWindows.set(primary.version, primary.history.length);
      const score = primary.history[primary.history.length - 1]!.score;
      this.windows.push({ requests: this.sent, score });
      const acc = (a: DriftVersion | undefined) => (a?.accuracy.accuracy == null ? 'n/a' : a.accuracy.accuracy.toFixed(3));
      const agreement = shadow ? await this.agreement() : null;
      this.o.say(
        `request ${String(this.sent).padStart(5)}: v${primary.version} drift ${score === null ? 'n/a' : score.toFixed(3)} (threshold ${this.threshold}), live accuracy v${primary.version} ${acc(primary)}` +
          (shadow ? `, shadow v${shadow.version} ${acc(shadow)}, agreement ${agreement === null ? 'n/a' : agreement.toFixed(3)}` : ''),
      );
    }
    this.accuracy.push({ requests: this.sent, primary: primary?.accuracy.accuracy ?? null, shadow: shadow?.accuracy.accuracy ?? null });
    if (this.firedAt === null) {
      const events = ((await this.get(`${this.admin}/admin/retrain/events`)) as { events: { reason: string; detail: string; model: string }[] }).events.filter((e) => e.model === this.o.model);
      if (events.length > 0) {
        this.firedAt = this.sent;
        this.firedReason = events[0]!.reason;
        this.mark(this.sent, `retrain fired (${events[0]!.reason})`, 'trigger');
        this.o.say(`request ${this.sent}: RETRAIN TRIGGER fired: ${events[0]!.detail}; webhook sent, retraining job started`);
      }
    }
    if (this.shadowAt === null && shadow !== undefined) {
      this.shadowAt = this.sent;
      this.mark(this.sent, `v${shadow.version} shadow`, 'shadow');
      this.o.say(`request ${this.sent}: the retrained version ${shadow.version} is serving as a shadow (every request mirrored, answers compared)`);
    }
    if (this.promotedAt === null && this.shadowAt !== null) {
      const events = ((await this.get(`${this.admin}/admin/models/${this.o.model}/events`)) as { events: { kind: string; by: string; reason: string; to?: string }[] }).events;
      const promoted = events.find((e) => e.kind === 'promote' || (e.kind === 'gate' && e.to !== undefined));
      if (promoted) {
        this.promotedAt = this.sent;
        this.mark(this.sent, `v${promoted.to ?? '2'} promoted`, 'promote');
        this.o.say(`request ${this.sent}: PROMOTED by the ${promoted.by}: ${promoted.reason}`);
      }
    }
  }

  /** The primary/shadow pair's agreement so far (GET /admin/models/{m}/shadow). */
  private async agreement(): Promise<number | null> {
    const r = (await this.get(`${this.admin}/admin/models/${this.o.model}/shadow`)) as { pairs: { agreement: number | null }[] };
    return r.pairs[0]?.agreement ?? null;
  }

  private async get(url: string): Promise<unknown> {
    const r = await fetch(url, { headers: { authorization: `Bearer ${this.o.token}` } });
    if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
    return r.json();
  }

  private async post(url: string, body: unknown): Promise<Record<string, unknown>> {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, unknown>;
  }
}
