// The CLI's tables as text: the pure formatter and the renderers of each admin answer.
import { describe, expect, it } from 'vitest';
import { renderEvents, renderModels, renderRouting } from '../src/cli/render.js';
import { renderShadow } from '../src/cli/render-shadow.js';
import { formatTable, measure, percent } from '../src/cli/table.js';
import type { PairReport } from '../src/shadow/pair-stats.js';

describe('formatTable', () => {
  it('pads each column to its widest cell, two spaces apart, right-aligns on request, trims line ends', () => {
    const text = formatTable(
      [
        ['a', '1', 'x'],
        ['longer', '100', ''],
      ],
      { header: ['NAME', 'N', 'NOTE'], align: ['left', 'right'] },
    );
    expect(text).toBe('NAME      N  NOTE\n' + 'a         1  x\n' + 'longer  100\n');
  });

  it('counts µ and → as one column each, and gives nothing for no rows', () => {
    expect(formatTable([['→', 'b'], ['µs', 'c']])).toBe('→   b\nµs  c\n');
    expect(formatTable([])).toBe('');
  });

  it('formats rates as percentages and measures with three significant digits', () => {
    expect([percent(0.99154), percent(1), percent(null)]).toEqual(['99.15%', '100.00%', '-']);
    expect([measure(0), measure(0.0012345), measure(123.456), measure(1.5e-7), measure(null)]).toEqual(['0', '0.00123', '123', '1.50e-7', '-']);
  });
});

const sha = (c: string) => c.repeat(64);

describe('renderModels', () => {
  it('lists every version with its state, sha256 prefix, provider and route, then each model routing', () => {
    const text = renderModels({
      models: [
        {
          name: 'digits',
          versions: [
            { version: '1', state: 'READY', sha256: sha('a'), provider: 'cpu', reason: 'loaded' },
            { version: '2', state: 'READY', sha256: sha('b'), provider: 'cpu', reason: 'loaded' },
            { version: '3', state: 'UNAVAILABLE', sha256: null, provider: null, reason: 'load failed' },
          ],
          routing: { primary: '1', shadows: [{ version: '2', percent: 25 }, { version: '3', percent: 5.5 }], previousPrimary: null },
          config_error: null,
        },
        {
          name: 'iris',
          versions: [{ version: '1', state: 'READY', sha256: sha('c'), provider: 'cuda:0', reason: 'loaded' }],
          routing: { primary: null, shadows: [], previousPrimary: null },
          config_error: { code: 'SLUICE_ERR_MODEL_CONFIG_INVALID', error: 'model.json: /maxBatchSize must be an integer', details: ['/maxBatchSize: got "x"'] },
        },
      ],
    });
    expect(text).toBe(
      'MODEL   VERSION  STATE        SHA256        PROVIDER  ROUTE        REASON\n' +
        'digits  1        READY        aaaaaaaaaaaa  cpu       primary      loaded\n' +
        'digits  2        READY        bbbbbbbbbbbb  cpu       shadow 25%   loaded\n' +
        'digits  3        UNAVAILABLE  -             -         shadow 5.5%  load failed\n' +
        'iris    1        READY        cccccccccccc  cuda:0    -            loaded\n' +
        '\n' +
        'MODEL   PRIMARY       SHADOWS            PREVIOUS PRIMARY\n' +
        'digits  1             2 (25%), 3 (5.5%)  -\n' +
        'iris    newest READY  -                  -\n' +
        '\n' +
        'iris: model.json refused: SLUICE_ERR_MODEL_CONFIG_INVALID: model.json: /maxBatchSize must be an integer\n' +
        '  /maxBatchSize: got "x"\n',
    );
  });

  it('says so when the repository is empty', () => {
    expect(renderModels({ models: [] })).toBe('no models in the repository\n');
  });
});

describe('renderRouting and renderEvents', () => {
  it('shows a routing as labelled lines, with since when the server gives it', () => {
    expect(renderRouting('digits', { primary: '2', shadows: [{ version: '1', percent: 10 }], previousPrimary: '1', since: '2026-01-02T03:04:05.000Z' })).toBe(
      'digits\n' + '  primary           2\n' + '  shadows           1 (10%)\n' + '  previous primary  1\n' + '  since             2026-01-02T03:04:05.000Z\n',
    );
  });

  it('lists events with from, to, who, why and their numbers', () => {
    const text = renderEvents('digits', {
      events: [
        { time: '2026-01-02T03:04:05.000Z', kind: 'promote', reason: 'promoted by an operator', by: 'admin', from: '1', to: '2' },
        { time: '2026-01-02T03:05:00.000Z', kind: 'gate', reason: 'held back', by: 'gate', numbers: { samples: 200, agreement: 0.9 } },
      ],
    });
    expect(text).toBe(
      'TIME                      KIND     FROM  TO  BY     REASON                   NUMBERS\n' +
        '2026-01-02T03:04:05.000Z  promote  1     2   admin  promoted by an operator\n' +
        '2026-01-02T03:05:00.000Z  gate     -     -   gate   held back                samples=200 agreement=0.9\n',
    );
    expect(renderEvents('digits', { events: [] })).toBe('digits: no events\n');
  });
});

function pair(over: Partial<PairReport>): PairReport {
  return {
    primary: '1',
    shadow: '2',
    since: '2026-01-02T03:04:05.000Z',
    mirrored: 120,
    compared: 118,
    errored: 0,
    dropped: { queue_full: 2, deadline: 0, shutting_down: 0, error: 0 },
    rows: 118,
    agreement: 0.99153,
    topk_agreement: 1,
    outputs: { probabilities: { mean_abs_diff: 0.0001, max_abs_diff: 0.00123, mean_rel_diff: 0.001, max_rel_diff: 0.01, js_divergence: 1.5e-7 } },
    latency_us: { primary: { p50: 310.4, p99: 1020 }, shadow: { p50: 330, p99: null } },
    labeled: 0,
    accuracy: { primary: null, shadow: null },
    ...over,
  };
}

describe('renderShadow', () => {
  it('puts one pair in each column and one measure in each row; accuracy rows only once labels exist', () => {
    const unlabeled = renderShadow({ model: 'digits', pairs: [pair({})] }, 'digits');
    expect(unlabeled).toBe(
      'digits: primary → shadow\n' +
      '                                                1 → 2\n' +
      'since                        2026-01-02T03:04:05.000Z\n' +
      'mirrored                                          120\n' +
      'compared                                          118\n' +
      'errored                                             0\n' +
      'dropped                              2 (queue_full 2)\n' +
      'rows compared                                     118\n' +
      'agreement                                      99.15%\n' +
      'top-k agreement                               100.00%\n' +
      'max abs diff probabilities                    0.00123\n' +
      'JS divergence probabilities                   1.50e-7\n' +
      'latency p50 primary                            310 µs\n' +
      'latency p50 shadow                             330 µs\n' +
      'latency p99 primary                           1020 µs\n' +
      'latency p99 shadow                                  -\n',
    );
    const labeled = renderShadow(
      { model: 'digits', pairs: [pair({ labeled: 50, accuracy: { primary: 0.96, shadow: 0.98 } }), pair({ shadow: '3', mirrored: 7, dropped: { queue_full: 0, deadline: 1, shutting_down: 0, error: 2 } })] },
      'digits',
    );
    const lines = labeled.split('\n');
    expect(lines[1]).toMatch(/^\s+1 → 2\s+1 → 3$/);
    expect(lines).toContainEqual(expect.stringMatching(/^mirrored\s+120\s+7$/));
    expect(lines).toContainEqual(expect.stringMatching(/^dropped\s+2 \(queue_full 2\)\s+3 \(deadline 1, error 2\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^labeled rows\s+50\s+0$/));
    expect(lines).toContainEqual(expect.stringMatching(/^accuracy primary\s+96\.00%\s+-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^accuracy shadow\s+98\.00%\s+-$/));
  });

  it('says how to start mirroring when the model has no pairs', () => {
    expect(renderShadow({ model: 'digits', pairs: [] }, 'digits')).toBe('digits: no shadow pairs (mirror a version with: sluice routing digits --shadow V=P)\n');
  });
});
