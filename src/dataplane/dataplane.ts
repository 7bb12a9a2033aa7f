// Transport-agnostic use cases (DESIGN §2 L3): server/model metadata, health, and infer.
// HTTP and WebSocket both call this; it never sees a uWS object.
//
// Seams for later issues:
// - route(): picks the primary version (and later, shadows) before the batcher.
// - observers: run after the answer is handed back, on a later tick; they can neither
//   delay nor fail the primary response (prediction log, drift, shadow comparison).
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../errors.js';
import type { ModelRepository } from '../repository/repository.js';
import type { Tensor } from '../types.js';
import type { Servable } from './servable.js';

export interface InferOptions {
  /** Deadline from a transport header (x-timeout-ms); the body's parameters.timeout_ms wins. */
  timeoutMs?: number;
  /** When the transport started reading the request, monotonic µs. */
  receivedUs: number;
}

export interface InferResult {
  id: string;
  version: number;
  /** The encoded JSON response body. */
  body: string;
}

/** What observers get for every answered prediction. */
export interface PredictionEvent {
  id: string;
  model: string;
  version: number;
  sha256: string;
  inputs: Tensor[];
  outputs: Tensor[];
  batchId: number;
  batchRows: number;
  queueUs: number;
  computeUs: number;
  totalUs: number;
}

export type PredictionObserver = (event: PredictionEvent) => void;

export interface DataPlaneDeps {
  repository: ModelRepository<Servable>;
  nowUs(): number;
  serverVersion: string;
  onError?(err: unknown, where: string): void;
}

export class DataPlane {
  private isDraining = false;
  /** When the last inference request arrived (monotonic µs); shutdown waits for quiet. */
  private lastRequestUs = 0;
  private inflight = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly observers: PredictionObserver[] = [];

  constructor(private readonly deps: DataPlaneDeps) {}

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: 'sluice', version: this.deps.serverVersion, extensions: [] };
  }

  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    return !this.isDraining && this.deps.repository.isReady();
  }

  modelReady(model: string, version?: number): { name: string; ready: boolean } {
    const entry = this.deps.repository.get(model);
    if (!entry) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
    if (version !== undefined && !entry.versions.has(version)) {
      throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version ${version}`);
    }
    try {
      this.deps.repository.resolve(model, version);
      return { name: model, ready: !this.isDraining };
    } catch {
      return { name: model, ready: false };
    }
  }

  /** OIP model metadata; versioned form adds sluice's state, sha256 and execution provider. */
  modelMetadata(model: string, version?: number): Record<string, unknown> {
    const entry = this.deps.repository.get(model);
    if (!entry) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
    const v = version === undefined ? this.tryResolve(model) : entry.versions.get(version);
    if (version !== undefined && !v) {
      throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `model "${model}" has no version ${version}`);
    }
    const config = v?.handle?.config ?? entry.config;
    if (!config) throw new SluiceError('SLUICE_ERR_MODEL_NOT_READY', `model "${model}" has no valid config`);
    const ready = [...entry.versions.values()].filter((x) => x.state === 'READY').map((x) => String(x.version));
    const meta: Record<string, unknown> = {
      name: model,
      versions: ready.sort((a, b) => Number(a) - Number(b)),
      platform: config.platform,
      inputs: config.inputs,
      outputs: config.outputs,
    };
    if (v) {
      meta.parameters = {
        version: String(v.version),
        state: v.state,
        sha256: v.sha256 ?? null,
        device: v.handle?.device ?? config.device,
        execution_provider: v.handle?.provider ?? null,
        max_batch_size: config.batching.maxBatchSize,
        ...(v.reason ? { reason: v.reason } : {}),
      };
    }
    return meta;
  }

  addObserver(observer: PredictionObserver): void {
    this.observers.push(observer);
  }

  /**
   * Validates, routes, batches and runs one request. `body` is the parsed (hardened) JSON
   * object; throws SluiceError with a stable code for every refusal.
   */
  async infer(model: string, version: number | undefined, body: Record<string, unknown>, opts: InferOptions): Promise<InferResult> {
    this.lastRequestUs = opts.receivedUs;
    if (this.isDraining) throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'server is shutting down', { retryAfterS: 1 });
    const servable = this.route(model, version);
    const decoded = servable.validate(body);
    const id = decoded.id ?? randomUUID();
    const timeoutMs = decoded.timeoutMs ?? opts.timeoutMs ?? servable.config.defaultTimeoutMs;
    this.inflight++;
    try {
      const outcome = await servable.batcher.submit({
        inputs: decoded.inputs,
        rows: decoded.rows,
        deadlineUs: opts.receivedUs + timeoutMs * 1000,
      });
      const result = { id, version: servable.version, body: servable.encode(id, outcome.outputs, decoded.outputs) };
      if (this.observers.length > 0) {
        const event: PredictionEvent = {
          id,
          model,
          version: servable.version,
          sha256: servable.sha256,
          inputs: decoded.inputs,
          outputs: outcome.outputs,
          batchId: outcome.batchId,
          batchRows: outcome.batchRows,
          queueUs: outcome.queueUs,
          computeUs: outcome.computeUs,
          totalUs: this.deps.nowUs() - opts.receivedUs,
        };
        setImmediate(() => this.notify(event));
      }
      return result;
    } finally {
      if (--this.inflight === 0) this.wakeDrainers();
    }
  }

  /** Readiness turns false and new inference is refused; resolves when in-flight ones finished. */
  drain(): Promise<void> {
    this.isDraining = true;
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** True from the start of drain(): transports close connections after each answer. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Microseconds since the last inference request arrived. */
  quietForUs(): number {
    return this.deps.nowUs() - this.lastRequestUs;
  }

  get inflightRequests(): number {
    return this.inflight;
  }

  /** The routing step: today the newest READY version, or the one asked for. */
  private route(model: string, version: number | undefined): Servable {
    return this.deps.repository.resolve(model, version).handle;
  }

  private tryResolve(model: string) {
    try {
      return this.deps.repository.resolve(model);
    } catch {
      return undefined;
    }
  }

  private notify(event: PredictionEvent): void {
    for (const observer of this.observers) {
      try {
        observer(event);
      } catch (err) {
        this.deps.onError?.(err, 'prediction observer');
      }
    }
  }

  private wakeDrainers(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
