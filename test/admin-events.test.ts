// The model event recorder the admin API and the promotion gate share: bounded per model (the
// oldest dropped), times from the injected clock, one app-log line per event.
import { expect, it } from 'vitest';
import { MAX_EVENTS_PER_MODEL, ModelEvents } from '../src/dataplane/model-events.js';

function recorder(max?: number) {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  let now = Date.UTC(2030, 0, 2, 3, 4, 5, 6);
  const events = new ModelEvents({ info: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }) }, () => now++, max);
  return { events, lines };
}

it('records events newest last, stamped with the clock, each one app-log line', () => {
  const { events, lines } = recorder();
  const gate = events.record('digits', { kind: 'gate', by: 'gate', reason: 'held: 120 samples of 500', from: '1', to: '2', numbers: { samples: 120, agreement: 0.97 } });
  events.record('digits', { kind: 'promote', by: 'admin', reason: 'version 2 promoted to primary, replacing 1', from: '1', to: '2' });
  events.record('other', { kind: 'load', by: 'admin', reason: 'version 4 loaded and pinned', to: '4', numbers: { ms: 12 } });
  expect(gate).toEqual({ time: '2030-01-02T03:04:05.006Z', kind: 'gate', by: 'gate', reason: 'held: 120 samples of 500', from: '1', to: '2', numbers: { samples: 120, agreement: 0.97 } });
  expect(events.list('digits').map((e) => [e.time, e.kind])).toEqual([
    ['2030-01-02T03:04:05.006Z', 'gate'],
    ['2030-01-02T03:04:05.007Z', 'promote'],
  ]);
  expect(events.list('other')).toHaveLength(1);
  expect(events.list('none')).toEqual([]);
  expect(lines.map((l) => [l.msg, l.obj.model, (l.obj.event as { kind: string }).kind])).toEqual([
    ['model event', 'digits', 'gate'],
    ['model event', 'digits', 'promote'],
    ['model event', 'other', 'load'],
  ]);
  expect(lines[0]!.obj.event).toEqual(gate);
});

it(`keeps at most ${MAX_EVENTS_PER_MODEL} events per model, dropping the oldest; other models keep theirs`, () => {
  const { events, lines } = recorder();
  events.record('b', { kind: 'unload', by: 'admin', reason: 'b' });
  for (let i = 0; i < MAX_EVENTS_PER_MODEL + 10; i++) events.record('a', { kind: 'routing', by: 'admin', reason: `change ${i}` });
  const a = events.list('a');
  expect(a).toHaveLength(MAX_EVENTS_PER_MODEL);
  expect(a[0]!.reason).toBe('change 10');
  expect(a.at(-1)!.reason).toBe(`change ${MAX_EVENTS_PER_MODEL + 9}`);
  expect(events.list('b').map((e) => e.reason)).toEqual(['b']);
  expect(lines).toHaveLength(MAX_EVENTS_PER_MODEL + 11); // the log keeps every one
  // list() is a copy: changing it changes nothing recorded.
  a.length = 0;
  expect(events.list('a')).toHaveLength(MAX_EVENTS_PER_MODEL);
});
