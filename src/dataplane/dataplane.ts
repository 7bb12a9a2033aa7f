// Transport-agnostic use cases (DESIGN §2 L3): server/model metadata, health, and infer.
// HTTP and WebSocket both call this; it never sees a uWS object.
//
// Observers (prediction log, metrics, drift) hear one PredictionEvent per answered request and
// per shadow answer (prediction-event.ts): built after the answer was written, delivered on a
// later tick, each call guarded, so an observer can neither delay nor fail an answer.
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../errors.js';
import type { ModelRepository } from '../repository/repository.js';
import type { InferRequest, Tensor } from '../types.js';
import type { BatchOutcome } from '../batching/batcher.js';
import { DEFAULT_EVENT_POLICY, primaryEvent, shadowEvent, type EventPolicy, type EventTensors, type PredictionEvent } from './prediction-event.js';
import type { Protocol, RequestTrace } from './trace.js';
import { DEFAULT_ROUTING, routePrimary, routeShadows, type RoutePlan, type RoutingTable, type VersionSource } from '../routing/index.js';
import { modelConfig, modelMetadata, modelReadiness } from './metadata.js';
import { mirror, type ShadowSink } from './mirror.js';
import { checkFrame, frameId, parseFrame, refusedFrameId, type FrameFormat } from './frames.js';
import { applyFeedback, type FeedbackAnswer, type FeedbackSink } from './feedback.js';
import { parseIndexRequest, repositoryIndex, type RepositoryIndexEntry } from './repository-index.js';
import type { Servable } from './servable.js';
import { decodeBinaryRequest } from '../codec/binary-request.js';
import { parseJsonBody } from '../codec/json-body.js';
import { decodeMsgpackBody } from '../codec/msgpack-body.js';
import { nativeCore } from '../native/core.js';
import type { DecodedInfer } from '../validation/request-validator.js';
import { encodePredictions, featuresNotDeclared, type JsonSchema } from '../features/index.js';

/** A request body as the transport received it; decoded here with the model's signature. */
export type RequestPayload =
  | { format: 'json'; bytes: Uint8Array }
  | { format: 'msgpack'; bytes: Uint8Array }
  | { format: 'binary'; bytes: Uint8Array; headerLength: number }
  /** Already parsed (inferFrame: a WebSocket frame's envelope is read to find the model). */
  | { format: 'object'; body: Record<string, unknown> };

/** How the answer is encoded when the request did not ask for binary outputs. */
export type ResponseFormat = 'json' | 'msgpack';

export interface InferOptions {
  /** Deadline from a transport header (x-timeout-ms); the body's parameters.timeout_ms wins. */
  timeoutMs?: number;
  /** When the transport started reading the request, monotonic µs. */
  receivedUs: number;
  /** True once the client went away: the request is dropped before it reaches a worker. */
  isCancelled?: () => boolean;
  /** Answer format (default json). */
  respondAs?: ResponseFormat;
  /** The transport can carry binary-extension answers (HTTP: yes; WebSocket: no). */
  allowBinary?: boolean;
  /** The client's request id from a transport header (HTTP x-request-id); the body's `id` wins. */
  requestId?: string;
  /** Filled in along the way; the transport hands it back to answered() (trace.ts). */
  trace?: RequestTrace;
}

export interface InferResult {
  id: string;
  version: number;
  body: string | Buffer;
  contentType: string;
  /** Binary extension answers: bytes of the JSON header (Inference-Header-Content-Length). */
  headerLength?: number;
}

export type { PredictionEvent } from './prediction-event.js';

/** Hears every event; may be async (a rejection is reported like a throw, never propagated). */
export type PredictionObserver = (event: PredictionEvent) => void | Promise<void>;

export interface DataPlaneDeps {
  repository: ModelRepository<Servable>;
  /** Where shadow copies report (the shadow board); absent: plans with shadows mirror nothing. */
  shadows?: ShadowSink;
  /** Where feedback labels are credited (the shadow board and live accuracy). */
  feedback?: FeedbackSink;
  /** The model's drift report (GET /v2/models/{m}/drift); absent: drift tracking is not wired. */
  driftReport?(model: string): unknown;
  /** The model's routing table (routing/ RoutingBook); absent: every model has the default. */
  routing?(model: string): RoutingTable;
  nowUs(): number;
  /** Wall clock (ms since the epoch) for events; default Date.now. */
  nowMs?(): number;
  /**
   * What a model's events copy (inputs sampled, redacted, tensor size); default: no inputs, 1024
   * values. `served`: the event is of a successful answer (a primary's OK or a shadow's), the only
   * kind that carries a tracked input, so a tracking budget is spent on those alone.
   */
  eventPolicy?(model: string, served: boolean): EventPolicy;
  /**
   * An answer's predicted class per row (null: no class decision), for its event's `predicted`:
   * computed once per answer from its whole outputs, while events carry bounded copies.
   * Absent: events carry none.
   */
  predictedLabels?(outputs: readonly Tensor[]): readonly number[] | null;
  serverVersion: string;
  onError?(err: unknown, where: string): void;
}

/** What a shadow answer's event takes from the primary request it copies. */
interface MirroredRequest {
  readonly id: string;
  readonly inputs: Tensor[];
  readonly rows: number;
  readonly protocol: Protocol;
  readonly clientId: string | undefined;
  readonly target: string;
}

/** The id of a payload its decoder refused (frames.ts refusedFrameId; the binary extension: its JSON header). */
function refusedPayloadId(payload: RequestPayload): string | undefined {
  switch (payload.format) {
    case 'json':
    case 'msgpack':
      return refusedFrameId(payload.bytes, payload.format);
    case 'binary':
      return payload.headerLength > 0 && payload.headerLength <= payload.bytes.byteLength ? refusedFrameId(payload.bytes.subarray(0, payload.headerLength), 'json') : undefined;
    case 'object':
      return frameId(payload.body);
  }
}

function decodePayload(payload: RequestPayload, servable: Servable): Record<string, unknown> {
  switch (payload.format) {
    case 'json':
      return parseJsonBody(payload.bytes);
    case 'msgpack':
      return decodeMsgpackBody(payload.bytes);
    case 'binary':
      return decodeBinaryRequest(payload.bytes, payload.headerLength, servable.signature);
    case 'object':
      return payload.body;
  }
}

function encodeResult(servable: Servable, id: string, outputs: Tensor[], decoded: DecodedInfer, opts: InferOptions): InferResult {
  const version = servable.version;
  if (decoded.binaryOutputs !== undefined && opts.allowBinary === true) {
    const { body, headerLength } = servable.encodeBinary(id, outputs, decoded.binaryOutputs, decoded.outputs);
    // Binary asked only for outputs that were not sent: the body is plain JSON.
    if (headerLength === body.length) return { id, version, body, contentType: 'application/json' };
    return { id, version, body, headerLength, contentType: 'application/octet-stream' };
  }
  if (opts.respondAs === 'msgpack') {
    return { id, version, body: servable.encodeMsgpack(id, outputs, decoded.outputs), contentType: 'application/msgpack' };
  }
  return { id, version, body: servable.encodeJson(id, outputs, decoded.outputs), contentType: 'application/json' };
}

export class DataPlane {
  private isDraining = false;
  /** When the last inference request arrived (monotonic µs); shutdown waits for quiet. */
  private lastRequestUs = 0;
  private inflight = 0;
  private drainWaiters: (() => void)[] = [];
  private readonly observers: PredictionObserver[] = [];
  /** Observers that read tensors: without one, events copy none. */
  private tensorObservers = 0;
  /** Of those, the ones that read every event's tensors (not only those of tracked events). */
  private allTensorObservers = 0;
  /** Events waiting for the next turn: one setImmediate delivers all of them. */
  private pendingEvents: PredictionEvent[] = [];
  /** Per model name, added once a request to it routed: bounded by the models that existed. */
  private readonly sources = new Map<string, VersionSource<Servable>>();

  constructor(private readonly deps: DataPlaneDeps) {}

  /** OIP server metadata, plus `native`: which codec implementation serves (docs/native.md). */
  serverMetadata(): { name: string; version: string; extensions: string[]; native: { impl: string; reason?: string } } {
    const core = nativeCore();
    const native = core.reason === undefined ? { impl: core.impl } : { impl: core.impl, reason: core.reason };
    return { name: 'sluice', version: this.deps.serverVersion, extensions: ['binary_tensor_data'], native };
  }

  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    return !this.isDraining && this.deps.repository.isReady();
  }

  modelReady(model: string, version?: number): { name: string; ready: boolean } {
    const r = modelReadiness(this.deps.repository, model, version);
    return { name: r.name, ready: r.ready && !this.isDraining };
  }

  /** OIP model metadata; versioned form adds sluice's state, sha256 and execution provider. */
  modelMetadata(model: string, version?: number): Record<string, unknown> {
    return modelMetadata(this.deps.repository, model, version);
  }

  /** GET /v2/models/{m}/drift: 404 for an unknown model; the report says when a version has no reference. */
  drift(model: string): unknown {
    if (this.deps.repository.get(model) === undefined) this.modelReady(model);
    return this.deps.driftReport?.(model) ?? { model, versions: [], reason: 'drift tracking is off (--disable-drift)' };
  }

  /** Ground-truth labels by request id (POST /v2/models/{m}/feedback). */
  feedback(model: string, bytes: Uint8Array): FeedbackAnswer {
    if (this.deps.repository.get(model) === undefined) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', `unknown model "${model}"`);
    return applyFeedback(this.deps.feedback, model, bytes);
  }

  /** The effective config (model.json over the graph) of the serving or the asked version. */
  modelConfig(model: string, version?: number): Record<string, unknown> {
    return modelConfig(this.deps.repository, model, version);
  }

  /** The JSON Schema of the model's named-feature requests (/v1 predict). */
  schema(model: string): JsonSchema {
    const features = this.route(model, undefined).features;
    if (!features) throw featuresNotDeclared(model);
    return features.schema;
  }

  /**
   * KServe V1 predict with named features: `{"instances": [{feature: value}]}` validated by
   * the model's schema, mapped to its input tensor, run like any request; answers
   * `{"predictions": [...], "model_version": ...}` as JSON.
   */
  async predict(model: string, version: number | undefined, bytes: Uint8Array, opts: InferOptions): Promise<InferResult> {
    const primary = this.admit(model, version, opts);
    if (!primary.features) throw featuresNotDeclared(model);
    const t = opts.trace;
    const body = this.decode({ format: 'json', bytes }, primary, t);
    const t1 = this.deps.nowUs();
    const mapped = primary.features.map(body);
    const request = this.requestOf(model, version, mapped, undefined, primary, opts);
    if (t) t.validateUs = this.deps.nowUs() - t1;
    const plan = this.plan(request, primary);
    const outputs = await this.run(plan, request, t);
    const id = request.id;
    const t2 = this.deps.nowUs();
    const answer = encodePredictions(outputs, primary.version, primary.config.classes ? { classes: primary.config.classes, id } : { id });
    const result: InferResult = { id, version: primary.version, body: JSON.stringify(answer), contentType: 'application/json' };
    if (t) t.encodeUs = this.deps.nowUs() - t2;
    return result;
  }

  /**
   * Adds an observer of every event. `tensors: false` (metrics, the access log): it reads no
   * tensor, so for it alone events carry none (`outputs` empty, no `inputs`) and cost no copies.
   * `tensors: 'tracked'` (the drift loop): it reads `predicted` of every event, but `outputs` only
   * of events that carry `tracked`, so for it alone the other events copy no tensor either.
   */
  addObserver(observer: PredictionObserver, opts: { tensors: boolean | 'tracked' } = { tensors: true }): void {
    this.observers.push(observer);
    if (opts.tensors !== false) this.tensorObservers++;
    if (opts.tensors === true) this.allTensorObservers++;
  }

  /**
   * The transport wrote the answer to a traced request (`status`, `code` "OK" or the refusal's):
   * builds its event, with bounded copies, and tells the observers on a later tick. Must be
   * called once per answered request, after the answer was handed to the transport.
   */
  answered(trace: RequestTrace, model: string, status: number, code: string): void {
    if (this.observers.length === 0) return;
    try {
      const modelKnown = this.deps.repository.get(model) !== undefined;
      const outputs = code === 'OK' && this.tensorObservers > 0 ? trace.outcome?.outputs : undefined;
      const predicted = outputs === undefined ? null : this.predicted(outputs);
      const facts = { model, modelKnown, status, code, nowUs: this.deps.nowUs(), timeMs: this.nowMs(), predicted };
      this.enqueue(primaryEvent(trace, facts, modelKnown ? this.policyOf(model, code === 'OK') : DEFAULT_EVENT_POLICY, this.eventTensors()));
    } catch (err) {
      this.deps.onError?.(err, 'prediction event');
    }
  }

  /**
   * Validates, routes, batches and runs one request. `body` is the parsed (hardened) JSON
   * object; throws SluiceError with a stable code for every refusal.
   */
  async infer(model: string, version: number | undefined, payload: RequestPayload, opts: InferOptions): Promise<InferResult> {
    const primary = this.admit(model, version, opts);
    const t = opts.trace;
    const body = this.decode(payload, primary, t);
    const t1 = this.deps.nowUs();
    const decoded = primary.validate(body);
    const request = this.requestOf(model, version, decoded, decoded.outputs, primary, opts);
    if (t) t.validateUs = this.deps.nowUs() - t1;
    const outputs = await this.run(this.plan(request, primary), request, t);
    const t2 = this.deps.nowUs();
    const result = encodeResult(primary, request.id, outputs, decoded, opts);
    if (t) t.encodeUs = this.deps.nowUs() - t2;
    return result;
  }

  /**
   * Decodes a request body; the trace learns the decode time and the body's id, so that a refusal
   * from here on (the decoder's included: refusedPayloadId) is answered and logged under it.
   */
  private decode(payload: RequestPayload, servable: Servable, t: RequestTrace | undefined): Record<string, unknown> {
    const t0 = this.deps.nowUs();
    let body: Record<string, unknown>;
    try {
      body = decodePayload(payload, servable);
    } catch (err) {
      if (t) t.id = refusedPayloadId(payload) ?? t.id;
      throw err;
    }
    if (t) {
      t.decodeUs = this.deps.nowUs() - t0;
      t.id = frameId(body) ?? t.id;
    }
    return body;
  }

  /** The one InferRequest of a decoded, validated request: id, deadline and inputs fixed here. */
  private requestOf(
    model: string,
    version: number | undefined,
    decoded: { id?: string; inputs: Tensor[]; rows: number; timeoutMs?: number; parameters?: Record<string, unknown> },
    outputs: string[] | undefined,
    primary: Servable,
    opts: InferOptions,
  ): InferRequest {
    const timeoutMs = decoded.timeoutMs ?? opts.timeoutMs ?? primary.config.defaultTimeoutMs;
    return {
      id: decoded.id ?? opts.requestId ?? randomUUID(),
      idFromClient: (decoded.id ?? opts.requestId) !== undefined,
      model,
      ...(version === undefined ? {} : { version }),
      inputs: decoded.inputs,
      ...(outputs === undefined ? {} : { outputs }),
      rows: decoded.rows,
      receivedUs: opts.receivedUs,
      deadlineUs: opts.receivedUs + timeoutMs * 1000,
      ...(decoded.parameters === undefined ? {} : { parameters: decoded.parameters }),
      ...(opts.isCancelled === undefined ? {} : { isCancelled: opts.isCancelled }),
    };
  }

  /** The routing step's second half, once the id is known (the primary was routed in admit()). */
  private plan(request: InferRequest, primary: Servable): RoutePlan<Servable> {
    return { primary, shadows: routeShadows(this.routingOf(request.model), this.versions(request.model), primary, request.id, request.version) };
  }

  /**
   * One WebSocket frame: the OIP body plus `model_name`, `model_version` and a required `id`,
   * decoded here with the same decoders as an HTTP body. `onFrame` hears the frame's id (for
   * error frames) once the body parsed, and its model once the envelope checked; it may throw to
   * refuse the frame (a connection over its in-flight cap).
   */
  inferFrame(bytes: Uint8Array, format: FrameFormat, opts: InferOptions, onFrame: (id: string | undefined, model: string | undefined) => void): Promise<InferResult> {
    let body: Record<string, unknown>;
    try {
      body = parseFrame(bytes, format);
    } catch (err) {
      onFrame(refusedFrameId(bytes, format), undefined);
      throw err;
    }
    onFrame(frameId(body), undefined);
    const frame = checkFrame(body);
    onFrame(frame.id, frame.model);
    return this.infer(frame.model, frame.version, { format: 'object', body: frame.body }, opts);
  }

  /**
   * The cheap refusal, before a body is decoded: throws what infer()/predict() would throw for a
   * one-row request with the header's (else the model's default) deadline — draining, unknown
   * model or version, queue full, predicted completion past the deadline — and returns otherwise.
   * A refusal here holds for any request of that route (a larger one waits longer), except that
   * a body's parameters.timeout_ms is not read: it cannot lengthen the deadline past this check.
   * Returning promises nothing: infer() decides again on the decoded request.
   */
  precheck(model: string, version: number | undefined, opts: InferOptions): void {
    const servable = this.admit(model, version, opts);
    const deadlineUs = opts.receivedUs + (opts.timeoutMs ?? servable.config.defaultTimeoutMs) * 1000;
    const refusal = servable.batcher.refusalFor({ rows: 1, deadlineUs, receivedUs: opts.receivedUs });
    if (refusal) throw refusal;
  }

  /** Refuses while draining, then routes; the trace learns the version that answers. */
  private admit(model: string, version: number | undefined, opts: InferOptions): Servable {
    this.lastRequestUs = opts.receivedUs;
    if (this.isDraining) throw new SluiceError('SLUICE_ERR_SHUTTING_DOWN', 'server is shutting down', { retryAfterS: 1 });
    const servable = this.route(model, version);
    if (opts.trace) opts.trace.served = servable;
    return servable;
  }

  /**
   * Batches and runs the request on the plan's primary, and mirrors it to the plan's shadows
   * (mirror.ts: they cannot delay or fail this answer); tells the observers after the caller has
   * its answer.
   */
  private async run(plan: RoutePlan<Servable>, request: InferRequest, trace?: RequestTrace): Promise<Tensor[]> {
    const servable = plan.primary;
    const { inputs, rows, deadlineUs, receivedUs, isCancelled } = request;
    if (trace) {
      trace.id = request.id;
      trace.rows = rows;
      trace.inputs = inputs;
    }
    this.inflight++;
    try {
      const pending = servable.batcher.submit({ inputs, rows, deadlineUs, receivedUs, isCancelled });
      if (plan.shadows.length > 0 && this.deps.shadows !== undefined) {
        // What the shadows' events need, and nothing more: a copy may wait long enough for what
        // it holds to be promoted to the old generation, so it must not pin the request or trace.
        const primary: MirroredRequest = { id: request.id, inputs, rows, protocol: trace?.protocol ?? 'http_json', clientId: trace?.clientId, target: trace?.target ?? '' };
        mirror(this.deps.shadows, servable, plan.shadows, request, pending, (shadow, outcome) => this.shadowAnswered(shadow, primary, outcome));
      }
      const outcome = await pending;
      if (trace) trace.outcome = outcome;
      return outcome.outputs;
    } finally {
      if (--this.inflight === 0) this.wakeDrainers();
    }
  }

  /** A shadow answered a mirrored copy of `request`: its event (the comparison is mirror.ts's). */
  private shadowAnswered(shadow: Servable, request: MirroredRequest, outcome: BatchOutcome): void {
    if (this.observers.length === 0) return;
    try {
      const facts = {
        model: shadow.model,
        version: shadow.version,
        sha256: shadow.sha256,
        primaryId: request.id,
        protocol: request.protocol,
        ...(request.clientId === undefined ? {} : { clientId: request.clientId }),
        target: request.target,
        rows: request.rows,
        timeMs: this.nowMs(),
        predicted: this.tensorObservers > 0 ? this.predicted(outcome.outputs) : null,
      };
      this.enqueue(shadowEvent(facts, request.inputs, outcome, this.policyOf(shadow.model, true), this.tensorObservers > 0));
    } catch (err) {
      this.deps.onError?.(err, 'prediction event');
    }
  }

  /** What events copy, from what their observers read. */
  private eventTensors(): EventTensors {
    return this.allTensorObservers > 0 ? 'all' : this.tensorObservers > 0 ? 'tracked' : 'none';
  }

  private predicted(outputs: readonly Tensor[]): readonly number[] | null {
    return this.deps.predictedLabels?.(outputs) ?? null;
  }

  private policyOf(model: string, served: boolean): EventPolicy {
    return this.deps.eventPolicy?.(model, served) ?? DEFAULT_EVENT_POLICY;
  }

  private nowMs(): number {
    return this.deps.nowMs?.() ?? Date.now();
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

  /** The routing step's first half: the version that answers (the explicit one, else the table's primary). */
  private route(model: string, version: number | undefined): Servable {
    const known = this.sources.get(model);
    const source = known ?? this.versionSource(model);
    const primary = routePrimary(this.routingOf(model), source, version);
    if (known === undefined) this.sources.set(model, source); // only names that resolved: bounded
    return primary;
  }

  /** The model's routing table (routing.json, else the default: newest READY, no shadows). */
  private routingOf(model: string): RoutingTable {
    return this.deps.routing?.(model) ?? DEFAULT_ROUTING;
  }

  /** Serving versions of a model, as the routing step finds them (kept per model once it routed). */
  private versions(model: string): VersionSource<Servable> {
    return this.sources.get(model) ?? this.versionSource(model);
  }

  private versionSource(model: string): VersionSource<Servable> {
    const repository = this.deps.repository;
    return {
      primary: (version) => repository.resolve(model, version).handle,
      shadow: (version) => {
        const v = repository.get(model)?.versions.get(version);
        return v?.state === 'READY' ? v.handle : undefined;
      },
    };
  }

  private enqueue(event: PredictionEvent): void {
    if (this.pendingEvents.push(event) > 1) return;
    setImmediate(() => {
      const events = this.pendingEvents;
      this.pendingEvents = [];
      for (const e of events) this.notify(e);
    });
  }

  private notify(event: PredictionEvent): void {
    for (const observer of this.observers) {
      try {
        const done = observer(event);
        if (done !== undefined) done.catch((err: unknown) => this.deps.onError?.(err, 'prediction observer'));
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

  /** Triton's repository index: every known version of every model, state and reason (repository-index.ts). */
  repositoryIndex(body: Uint8Array): RepositoryIndexEntry[] {
    return repositoryIndex(this.deps.repository, parseIndexRequest(body));
  }
}
