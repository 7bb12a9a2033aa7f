// The admin commands: what each one asks the admin API and how it shows the answer. One table,
// COMMANDS, from which dispatch (run.ts) takes the parse table, the operand count and the --help.
// Every check of the command line happens before the first request, so a usage error (exit 2)
// never follows a change already made on the server.
import type { AdminAnswer, AdminClient } from './client.js';
import { usageError } from './failure.js';
import type { OptionName, OptionValues } from './options.js';
import { renderEvents, renderModels, renderRouting } from './render.js';
import { renderShadow } from './render-shadow.js';
import type { EventsWire, ModelsWire, RoutingWire, ShadowReport, ShadowShareWire, VersionWire } from './wire.js';

export interface CommandContext {
  /** The operands, as many as the command declares (dispatch checked the count). */
  readonly operands: readonly string[];
  readonly values: OptionValues;
  readonly client: AdminClient;
}

export interface AdminCommand {
  readonly name: string;
  /** Placeholders of the operands, in order: `<model>`, `<version>`. Exactly these many are required. */
  readonly operands: readonly string[];
  readonly summary: string;
  /** Options beside --url, --token and --help, which every admin command takes. */
  readonly options: readonly OptionName[];
  /** Further --help text: examples, what the server does. */
  readonly about?: string;
  /** Resolves with what stdout gets; throws a CliFailure. */
  run(ctx: CommandContext): Promise<string>;
}

/** Options every admin command takes. */
export const COMMON_OPTIONS: readonly OptionName[] = ['url', 'token', 'help'];

const seg = encodeURIComponent;
const modelPath = (model: string): string => `/admin/models/${seg(model)}`;

/** A version as the admin API names it: a positive integer in a string. */
function checkVersion(v: string, what: string): string {
  if (!/^[1-9]\d*$/.test(v)) throw usageError(`${what} must be a version number (1, 2, ...), got "${v}"`);
  return v;
}

/** `--shadow V=P`: version V gets P percent of requests mirrored. */
export function parseShadowFlag(raw: string): ShadowShareWire {
  const m = /^([^=]*)=(.*)$/.exec(raw);
  const percent = m && m[2]!.trim() !== '' ? Number(m[2]) : NaN;
  if (!m || !/^[1-9]\d*$/.test(m[1]!) || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw usageError(`--shadow needs VERSION=PERCENT with PERCENT from 0 to 100, got "${raw}"`, ['for example: --shadow 2=25 --shadow 3=5.5']);
  }
  return { version: m[1]!, percent };
}

/** The answer as received for --json, else the rendered table. */
function show<T>(ctx: CommandContext, answer: AdminAnswer, render: (json: T) => string): string {
  if (ctx.values.json) return answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`;
  return render(answer.json as T);
}

async function routing(ctx: CommandContext): Promise<string> {
  const [model] = ctx.operands as [string];
  const v = ctx.values;
  const shadowFlags = (v.shadow as string[] | undefined)?.map(parseShadowFlag);
  const primary = typeof v.primary === 'string' ? checkVersion(v.primary, '--primary') : undefined;
  if (shadowFlags && v['no-shadows']) throw usageError('--shadow and --no-shadows contradict each other: give one');
  if (primary === undefined && shadowFlags === undefined && !v['no-shadows']) {
    return show(ctx, await ctx.client.get(`${modelPath(model)}/routing`), (r: RoutingWire) => renderRouting(model, r));
  }
  // A PUT replaces the whole table, so what the flags leave alone is read first and sent back
  // unchanged. Two operators writing at once: the later PUT wins whole.
  const current = (await ctx.client.get(`${modelPath(model)}/routing`)).json as RoutingWire;
  const nextPrimary = primary ?? current.primary ?? undefined;
  const body = {
    ...(nextPrimary === undefined ? {} : { primary: nextPrimary }),
    shadows: v['no-shadows'] ? [] : (shadowFlags ?? current.shadows.map((s) => ({ version: s.version, percent: s.percent }))),
  };
  return show(ctx, await ctx.client.put(`${modelPath(model)}/routing`, body), (r: RoutingWire) => renderRouting(model, r));
}

export const COMMANDS: readonly AdminCommand[] = [
  {
    name: 'models',
    operands: [],
    summary: 'every model: its versions with state, sha256 prefix and provider; its routing',
    options: ['json'],
    run: async (ctx) => show(ctx, await ctx.client.get('/admin/models'), (a: ModelsWire) => renderModels(a)),
  },
  {
    name: 'routing',
    operands: ['<model>'],
    summary: 'show the model\'s routing, or set it with --primary, --shadow, --no-shadows',
    options: ['primary', 'shadow', 'no-shadows', 'json'],
    about:
      'Without --primary/--shadow/--no-shadows it shows the routing. With them it sets the routing:\n' +
      'what is not given stays as it is (--primary alone keeps the shadows; --shadow alone keeps the\n' +
      'primary and replaces every shadow).\n\n' +
      'examples:\n' +
      '  sluice routing digits --primary 1 --shadow 2=25 --shadow 3=5.5\n' +
      '  sluice routing digits --no-shadows\n',
    run: routing,
  },
  {
    name: 'promote',
    operands: ['<model>', '<version>'],
    summary: 'make <version> the primary; the one it replaces is kept for rollback',
    options: ['json'],
    run: async (ctx) => {
      const [model, version] = ctx.operands as [string, string];
      const answer = await ctx.client.post(`${modelPath(model)}/promote`, { version: checkVersion(version, '<version>') });
      return show(ctx, answer, (r: RoutingWire) => renderRouting(model, r));
    },
  },
  {
    name: 'rollback',
    operands: ['<model>'],
    summary: 'make the previous primary the primary again',
    options: ['json'],
    run: async (ctx) => {
      const [model] = ctx.operands as [string];
      return show(ctx, await ctx.client.post(`${modelPath(model)}/rollback`), (r: RoutingWire) => renderRouting(model, r));
    },
  },
  {
    name: 'shadow',
    operands: ['<model>'],
    summary: 'the shadow comparison report: per primary → shadow pair, agreement, diffs, latency, accuracy',
    options: ['json'],
    run: async (ctx) => {
      const [model] = ctx.operands as [string];
      return show(ctx, await ctx.client.get(`${modelPath(model)}/shadow`), (a: ShadowReport) => renderShadow(a, model));
    },
  },
  {
    name: 'load',
    operands: ['<model>', '<version>'],
    summary: 'load a version from the repository',
    options: ['json'],
    run: async (ctx) => versionAction(ctx, 'load', 'loaded'),
  },
  {
    name: 'unload',
    operands: ['<model>', '<version>'],
    summary: 'unload a version (it stops answering)',
    options: ['json'],
    run: async (ctx) => versionAction(ctx, 'unload', 'unloaded'),
  },
  {
    name: 'events',
    operands: ['<model>'],
    summary: "the model's routing and lifecycle events: when, what, by whom, why",
    options: ['json'],
    run: async (ctx) => {
      const [model] = ctx.operands as [string];
      return show(ctx, await ctx.client.get(`${modelPath(model)}/events`), (a: EventsWire) => renderEvents(model, a));
    },
  },
  {
    name: 'retrain',
    operands: ['<model>'],
    summary: "fire the model's retrain trigger now: its webhook and command run (docs/drift.md)",
    options: ['json'],
    about: 'Refused (exit 1) when the model.json has no "retrain" section, or within its cooldown.\n',
    run: async (ctx) => {
      const [model] = ctx.operands as [string];
      return show(ctx, await ctx.client.post(`${modelPath(model)}/retrain`), (a: { event: RetrainEventWire }) => `${renderRetrainEvent(a.event)}\n`);
    },
  },
  {
    name: 'retrain-events',
    operands: [],
    summary: 'every retrain event (the last 1000): when, which model, why, what its actions did',
    options: ['json'],
    run: async (ctx) =>
      show(ctx, await ctx.client.get('/admin/retrain/events'), (a: { events: RetrainEventWire[] }) =>
        a.events.length === 0 ? 'no retrain events\n' : `${a.events.map(renderRetrainEvent).join('\n')}\n`,
      ),
  },
];

interface RetrainEventWire {
  time: string;
  model: string;
  version: string | null;
  reason: string;
  detail: string;
  actions: { action: string; outcome: string }[];
  pending: number;
}

function renderRetrainEvent(e: RetrainEventWire): string {
  const actions = e.actions.map((a) => `${a.action} ${a.outcome}`);
  if (e.pending > 0) actions.push(`${e.pending} running`);
  return `${e.time}  ${e.model} v${e.version ?? '-'}  ${e.reason}: ${e.detail}${actions.length > 0 ? `  [${actions.join(', ')}]` : ''}`;
}

/** load and unload answer the version as it is now (`{model, version, state, ...}`). */
async function versionAction(ctx: CommandContext, action: 'load' | 'unload', done: string): Promise<string> {
  const [model, version] = ctx.operands as [string, string];
  const answer = await ctx.client.post(`${modelPath(model)}/versions/${checkVersion(version, '<version>')}/${action}`);
  return show(ctx, answer, (v: Partial<VersionWire>) => `${model} version ${version}: ${done}${v.state ? ` (${v.state})` : ''}\n`);
}
