// LabelBook reads the model's class names at each label: a model.json reload that renames classes
// changes how the next label's names map, without a restart and without touching the indices the
// answers were recorded with.
import { describe, expect, it } from 'vitest';
import { LabelBook } from '../src/labels/label-book.js';

const primary = { role: 'primary' as const, version: '1' };

describe('LabelBook class names', () => {
  it('maps names through the classes the model has when the label arrives', () => {
    let classes: readonly string[] | undefined = ['cat', 'dog'];
    const book = new LabelBook({ maxEntries: 10, maxAgeMs: 60_000, classes: () => classes });
    book.record('m', 'a', primary, [1], 0);
    book.record('m', 'b', primary, [1], 0);
    book.record('m', 'c', primary, [0], 0);
    expect(book.label('m', 'a', 'dog', 1)).toMatchObject({ ok: true, primary: { labeled: 1, correct: 1 } });
    // The reload renames class 1 and adds a third class.
    classes = ['cat', 'hound', 'bird'];
    expect(book.label('m', 'b', 'dog', 2)).toEqual({ ok: false, reason: 'unknown_class' });
    expect(book.label('m', 'b', 'hound', 2)).toMatchObject({ ok: true, primary: { labeled: 1, correct: 1 } });
    // A model that no longer names its classes takes indices only.
    classes = undefined;
    expect(book.label('m', 'c', 'cat', 3)).toEqual({ ok: false, reason: 'unknown_class' });
    expect(book.label('m', 'c', 0, 3)).toMatchObject({ ok: true, primary: { labeled: 1, correct: 1 } });
  });
});
