// The label store's id index (src/labels/id-slots.ts) against a plain Map: random adds, removes,
// compactions and resizes, ids of every length the protocol allows, and ids whose hashes collide.
import { describe, expect, it } from 'vitest';
import { IdSlots } from '../src/labels/id-slots.js';
import { LabelStore } from '../src/labels/label-store.js';

const P1 = { role: 'primary', version: '1' } as const;

describe('IdSlots', () => {
  it('finds what a Map finds over random adds and removes in a ring that wraps and is relaid out larger', () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    const randomId = () => {
      // Inline ids (≤ 48 units) and long ones, with astral characters (two units each).
      const len = 1 + rand(rand(8) === 0 ? 256 : 40);
      let id = '';
      for (let k = 0; k < len; k++) id += rand(20) === 0 ? String.fromCodePoint(0x1f600 + rand(50)) : String.fromCharCode(97 + rand(6));
      return id;
    };
    let slots = 8;
    const ids = new IdSlots(slots);
    const slotOf = new Map<string, number>();
    const idAt = new Map<number, string>();
    let head = 0;
    let used = 0;
    let relaidOut = 0;
    for (let i = 0; i < 40_000; i++) {
      // Phases that grow and shrink the live set, so that the ring both fills and wraps.
      const op = rand(10) + (Math.floor(i / 2000) % 2 === 0 ? 0 : 3);
      if (op < 5) {
        const id = randomId();
        if (slotOf.has(id)) {
          expect(ids.find(id)).toBe(slotOf.get(id));
          continue;
        }
        while (used > 0 && !idAt.has(head)) [head, used] = [(head + 1) % slots, used - 1];
        if (used === slots) {
          ids.relayout(2 * slots, head, used);
          const moved = [...idAt].map(([s, v]) => [(s - head + slots) % slots, v] as const);
          idAt.clear();
          for (const [s, v] of moved) [idAt.set(s, v), slotOf.set(v, s)];
          [slots, head] = [2 * slots, 0];
          relaidOut++;
        }
        const s = (head + used++) % slots;
        expect(ids.has(s)).toBe(false);
        ids.add(s, id);
        slotOf.set(id, s);
        idAt.set(s, id);
      } else if (op < 9 && slotOf.size > 0) {
        const keys = [...slotOf.keys()];
        const id = keys[rand(keys.length)]!;
        const s = slotOf.get(id)!;
        expect(ids.has(s)).toBe(true);
        ids.remove(s);
        expect(ids.has(s)).toBe(false);
        slotOf.delete(id);
        idAt.delete(s);
      } else {
        const id = rand(2) === 0 && slotOf.size > 0 ? [...slotOf.keys()][rand(slotOf.size)]! : randomId();
        expect(ids.find(id)).toBe(slotOf.get(id) ?? -1);
      }
    }
    for (const [id, s] of slotOf) expect(ids.find(id)).toBe(s);
    for (let s = 0; s < slots; s++) expect(ids.has(s)).toBe(idAt.has(s));
    expect(relaidOut).toBeGreaterThan(2);
  });

  it('keeps every id findable when removals shift probe runs that wrap round the table', () => {
    let seed = 5;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    for (let round = 0; round < 2000; round++) {
      const ids = new IdSlots(8); // 16 cells: runs often cross the end of the table
      const held = new Map<string, number>();
      for (let s = 0; s < 8; s++) {
        const id = `id${round}-${s}-${rand(1000)}`;
        ids.add(s, id);
        held.set(id, s);
      }
      for (const [id, s] of [...held].sort(() => rand(3) - 1).slice(0, 5)) {
        ids.remove(s);
        held.delete(id);
        expect(ids.find(id)).toBe(-1);
        for (const [other, t] of held) expect(ids.find(other)).toBe(t);
      }
    }
  });

  it('tells apart ids whose 32-bit FNV-1a hashes are equal', () => {
    // Known FNV-1a 32-bit collisions: each pair lands in the same cell and compares equal by hash.
    const store = new LabelStore({ maxEntries: 10, maxAgeMs: 1000 });
    // A common suffix keeps a collision: 'declinate' and 'macallums' are as long as each other, so
    // with 50 more units both are long ids (kept as strings) of one length and one hash.
    const tail = 'x'.repeat(50);
    const pairs = [['costarring', 'liquid'], ['declinate', 'macallums'], ['altarage', 'zinke'], [`declinate${tail}`, `macallums${tail}`]];
    for (const [a, b] of pairs) {
      store.record(a!, P1, [1], 0);
      store.record(b!, P1, [2], 0);
    }
    for (const [a, b] of pairs) {
      expect(store.label(b!, 2, 0)).toMatchObject({ ok: true, primary: { correct: 1 } });
      expect(store.label(b!, 2, 0)).toEqual({ ok: false, reason: 'unknown_id' });
      expect(store.label(a!, 1, 0)).toMatchObject({ ok: true, primary: { correct: 1 } });
    }
    expect(store.size).toBe(0);
  });
});
