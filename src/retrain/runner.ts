// What happens when a retrain fires: the event is recorded (GET /admin/retrain/events, newest
// last, the last MAX_EVENTS kept), logged, counted, and the model's configured actions run — its
// webhook (only when its URL is on the server's allow-list) and its command (argv, no shell). Both
// are static config: the event's fields travel as the webhook's JSON body and as the command's
// stdin and environment, never as a URL, a path or an argument.
// One command per model at a time: a command still running when the next event fires is not
// started again (outcome `busy`), so a slow job cannot pile up.
import type { RetrainSettings } from '../types.js';
import { runCommand, type CommandOutcome } from './command.js';
import type { RetrainEvent } from './trigger.js';
import { sendWebhook, type ActionLog, type WebhookOutcome } from './webhook.js';

export const MAX_EVENTS = 1000;

export type ActionKind = 'webhook' | 'command';

export interface ActionRecord {
  readonly action: ActionKind;
  readonly ok: boolean;
  /** ok, failed, not_allowed (webhook off the allow-list), busy (command still running). */
  readonly outcome: 'ok' | 'failed' | 'not_allowed' | 'busy';
  readonly durationMs: number;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface RecordedEvent extends RetrainEvent {
  /** Actions configured for the event, filled in as each finishes. */
  readonly actions: ActionRecord[];
  /** Actions still running. */
  pending: number;
}

export interface RunnerDeps {
  readonly log: ActionLog;
  /** --retrain-webhook-allow, split. */
  readonly webhookAllow: readonly string[];
  readonly webhookSecret: string | undefined;
  /** The model's retrain settings at the time the event fires. */
  settingsOf(model: string): RetrainSettings | undefined;
  /** Environment of commands: the gateway's plus what the retraining job needs (log paths). */
  readonly commandEnv: NodeJS.ProcessEnv;
  onEvent?(event: RetrainEvent): void;
  onAction?(model: string, action: ActionKind, outcome: ActionRecord['outcome']): void;
}

export class RetrainRunner {
  private readonly events: RecordedEvent[] = [];
  private readonly commandsRunning = new Set<string>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Records `event` and starts its actions; returns the recorded event at once. */
  fire(event: RetrainEvent): RecordedEvent {
    const rec: RecordedEvent = { ...event, actions: [], pending: 0 };
    this.events.push(rec);
    if (this.events.length > MAX_EVENTS) this.events.shift();
    this.deps.log.info({ retrain: { id: event.id, model: event.model, version: event.version, reason: event.reason, numbers: event.numbers } }, `retrain triggered: ${event.detail}`);
    this.deps.onEvent?.(event);
    const settings = this.deps.settingsOf(event.model);
    const body = { id: event.id, time: event.time, model: event.model, version: event.version, reason: event.reason, detail: event.detail, numbers: event.numbers };
    if (settings?.webhook) this.track(rec, this.webhook(event.model, settings.webhook, body));
    if (settings?.command) this.track(rec, this.command(event.model, settings.command, body));
    return rec;
  }

  /** Recorded events, oldest first (copies), optionally of one model. */
  list(model?: string): RecordedEvent[] {
    return this.events.filter((e) => model === undefined || e.model === model).map((e) => ({ ...e, actions: [...e.actions] }));
  }

  /** Waits for running actions (shutdown; tests). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private track(rec: RecordedEvent, action: Promise<ActionRecord>): void {
    rec.pending++;
    const p = action
      .then((a) => {
        rec.actions.push(a);
        this.deps.onAction?.(rec.model, a.action, a.outcome);
      })
      .finally(() => {
        rec.pending--;
        this.running.delete(p);
      });
    this.running.add(p);
  }

  private async webhook(model: string, config: NonNullable<RetrainSettings['webhook']>, body: object): Promise<ActionRecord> {
    const out: WebhookOutcome = await sendWebhook(config, body, { allow: this.deps.webhookAllow, secret: this.deps.webhookSecret, log: this.deps.log });
    const outcome = out.ok ? 'ok' : out.error === 'not_allowed' ? 'not_allowed' : 'failed';
    return { action: 'webhook', ok: out.ok, outcome, durationMs: out.durationMs, detail: { attempts: out.attempts, ...(out.status === undefined ? {} : { status: out.status }), ...(out.error === undefined ? {} : { error: out.error }) } };
  }

  private async command(model: string, config: NonNullable<RetrainSettings['command']>, body: object): Promise<ActionRecord> {
    if (this.commandsRunning.has(model)) {
      this.deps.log.warn({ model }, 'retrain command not started: the previous one for this model is still running');
      return { action: 'command', ok: false, outcome: 'busy', durationMs: 0, detail: {} };
    }
    this.commandsRunning.add(model);
    try {
      const out: CommandOutcome = await runCommand(config, body, { log: this.deps.log, env: this.deps.commandEnv });
      return {
        action: 'command',
        ok: out.ok,
        outcome: out.ok ? 'ok' : 'failed',
        durationMs: out.durationMs,
        detail: { exitCode: out.exitCode, signal: out.signal, timedOut: out.timedOut, ...(out.error === undefined ? {} : { error: out.error }) },
      };
    } finally {
      this.commandsRunning.delete(model);
    }
  }
}
