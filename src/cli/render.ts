// The tables of `sluice models`, `sluice routing` and `sluice events`. Pure: a wire answer in,
// text out (render-shadow.ts has the shadow report).
import { formatTable, NONE } from './table.js';
import type { EventsWire, ModelEvent, ModelsWire, ModelWire, RoutingWire } from './wire.js';

/** Hex digits of a version's sha256 shown: enough to tell files apart at a glance. */
export const SHA256_PREFIX_CHARS = 12;

/** "2 (25%), 3 (5.5%)", or NONE. */
export function formatShadows(shadows: RoutingWire['shadows'] | undefined): string {
  return shadows && shadows.length > 0 ? shadows.map((s) => `${s.version} (${s.percent}%)`).join(', ') : NONE;
}

function formatPrimary(primary: string | null | undefined): string {
  return primary ?? 'newest READY';
}

/** What a version does in its model's routing: primary, shadow N%, or nothing. */
function route(model: ModelWire, version: string): string {
  if (model.routing?.primary === version) return 'primary';
  const share = model.routing?.shadows?.find((s) => s.version === version);
  return share ? `shadow ${share.percent}%` : '';
}

/**
 * Two tables: every version (state, sha256 prefix, provider, its part in the routing, the reason
 * of its state), then every model's routing; then one line per model whose model.json is invalid.
 */
export function renderModels(answer: ModelsWire): string {
  const models = answer.models ?? [];
  if (models.length === 0) return 'no models in the repository\n';
  const versions = models.flatMap((m) =>
    (m.versions ?? []).map((v) => [
      m.name,
      v.version,
      v.state,
      v.sha256 ? v.sha256.slice(0, SHA256_PREFIX_CHARS) : NONE,
      v.provider ?? NONE,
      route(m, v.version) || NONE,
      v.reason ?? '',
    ]),
  );
  const routing = models.map((m) => [m.name, formatPrimary(m.routing?.primary), formatShadows(m.routing?.shadows), m.routing?.previousPrimary ?? NONE]);
  const errors = models
    .filter((m) => m.config_error)
    .map((m) => {
      const e = m.config_error!;
      const details = (e.details ?? []).map((d) => `  ${d}\n`).join('');
      return `${m.name}: model.json refused: ${e.code ? `${e.code}: ` : ''}${e.error ?? 'invalid'}\n${details}`;
    });
  return (
    formatTable(versions, { header: ['MODEL', 'VERSION', 'STATE', 'SHA256', 'PROVIDER', 'ROUTE', 'REASON'] }) +
    '\n' +
    formatTable(routing, { header: ['MODEL', 'PRIMARY', 'SHADOWS', 'PREVIOUS PRIMARY'] }) +
    (errors.length > 0 ? `\n${errors.join('')}` : '')
  );
}

/** One model's routing as labelled lines. */
export function renderRouting(model: string, routing: RoutingWire): string {
  const rows = [
    ['primary', formatPrimary(routing.primary)],
    ['shadows', formatShadows(routing.shadows)],
    ['previous primary', routing.previousPrimary ?? NONE],
  ];
  if (routing.since !== undefined) rows.push(['since', routing.since]);
  return `${model}\n${formatTable(rows, { indent: '  ' })}`;
}

function describeValue(v: unknown): string {
  if (v === undefined || v === null) return NONE;
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** "samples=200 agreement=0.99", or ''. */
function formatNumbers(numbers: ModelEvent['numbers']): string {
  return numbers ? Object.entries(numbers).map(([k, n]) => `${k}=${n}`).join(' ') : '';
}

/** The model's events, oldest first as the server lists them. */
export function renderEvents(model: string, answer: EventsWire): string {
  const events = answer.events ?? [];
  if (events.length === 0) return `${model}: no events\n`;
  const rows = events.map((e) => [e.time, e.kind, describeValue(e.from), describeValue(e.to), e.by ?? NONE, e.reason ?? '', formatNumbers(e.numbers)]);
  return formatTable(rows, { header: ['TIME', 'KIND', 'FROM', 'TO', 'BY', 'REASON', 'NUMBERS'] });
}
