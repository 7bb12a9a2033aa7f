// Request ids by slot number, in typed arrays: no JS string or Map entry is kept per id, so that
// the label store's hundred thousand waiting answers cost the garbage collector nothing
// (label-store.ts says why that matters). Each slot has room for an id of up to INLINE_UNITS
// UTF-16 units (a UUID is 36); a longer id is kept as its string. An open-addressing table (linear
// probing, load ≤ 1/2, deletion by backward shift) maps an id's hash to its slot; a cell holds the
// slot and the hash side by side, so a probe reads one cache line, not the slot's own record. Ids
// are compared unit by unit: a hash collision never confuses two ids.

/** UTF-16 units of an id kept in the slot itself; a longer id is kept as a string. */
const INLINE_UNITS = 48;

const EMPTY = 0;
const DEAD = -1;

export class IdSlots {
  private slots = 0;
  /** An id's length in UTF-16 units; DEAD: the slot holds no id. */
  private length: Int32Array = new Int32Array(0);
  private hash: Int32Array = new Int32Array(0);
  private units: Uint16Array = new Uint16Array(0);
  private long: (string | undefined)[] = [];
  /** Two ints a cell: slot + 1 (EMPTY: free), then the id's hash. */
  private table: Int32Array = new Int32Array(0);
  private mask = 0;

  constructor(slots: number) {
    this.relayout(slots, 0, 0);
  }

  /** The slot holding `id`, or -1; `h` is hashOf(id). */
  find(id: string, h = hashOf(id)): number {
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const cell = this.table[2 * i]!;
      if (cell === EMPTY) return -1;
      if (this.table[2 * i + 1] === h && this.holds(cell - 1, id)) return cell - 1;
    }
  }

  /** Whether `slot` holds an id. */
  has(slot: number): boolean {
    return this.length[slot]! !== DEAD;
  }

  /** Puts `id` in the empty `slot`; no other slot may hold it. `h` is hashOf(id). */
  add(slot: number, id: string, h = hashOf(id)): void {
    if (id.length <= INLINE_UNITS) {
      const at = slot * INLINE_UNITS;
      for (let k = 0; k < id.length; k++) this.units[at + k] = id.charCodeAt(k);
    } else {
      this.long[slot] = id;
    }
    this.length[slot] = id.length;
    this.hash[slot] = h;
    this.place(slot, h);
  }

  /** Empties `slot`, which must hold an id. */
  remove(slot: number): void {
    const t = this.table;
    let i = this.hash[slot]! & this.mask;
    while (t[2 * i] !== slot + 1) i = (i + 1) & this.mask;
    // Backward shift: each later cell of the run moves back into the gap unless its home lies
    // after the gap (cyclically), where a lookup would no longer reach it.
    for (let j = (i + 1) & this.mask; t[2 * j] !== EMPTY; j = (j + 1) & this.mask) {
      const home = t[2 * j + 1]! & this.mask;
      const reachable = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!reachable) {
        t[2 * i] = t[2 * j]!;
        t[2 * i + 1] = t[2 * j + 1]!;
        i = j;
      }
    }
    t[2 * i] = EMPTY;
    if (this.length[slot]! > INLINE_UNITS) this.long[slot] = undefined;
    this.length[slot] = DEAD;
  }

  /**
   * Makes room for `slots` slots: the `count` slots from `first` on (wrapping at the old slot
   * count, as a ring does) become slots 0 … count − 1, in that order; every other slot is empty.
   */
  relayout(slots: number, first: number, count: number): void {
    const length = new Int32Array(slots).fill(DEAD);
    const hash = new Int32Array(slots);
    const units = new Uint16Array(slots * INLINE_UNITS);
    const long: (string | undefined)[] = [];
    let to = 0;
    for (const [from, n] of ringRuns(first, count, this.slots)) {
      length.set(this.length.subarray(from, from + n), to);
      hash.set(this.hash.subarray(from, from + n), to);
      units.set(this.units.subarray(from * INLINE_UNITS, (from + n) * INLINE_UNITS), to * INLINE_UNITS);
      for (let k = 0; k < n; k++) if (this.long[from + k] !== undefined) long[to + k] = this.long[from + k];
      to += n;
    }
    this.slots = slots;
    this.length = length;
    this.hash = hash;
    this.units = units;
    this.long = long;
    let cells = 16;
    while (cells < 2 * slots) cells *= 2;
    this.table = new Int32Array(2 * cells);
    this.mask = cells - 1;
    for (let s = 0; s < count; s++) if (length[s] !== DEAD) this.place(s, hash[s]!);
  }

  private place(slot: number, h: number): void {
    let i = h & this.mask;
    while (this.table[2 * i] !== EMPTY) i = (i + 1) & this.mask;
    this.table[2 * i] = slot + 1;
    this.table[2 * i + 1] = h;
  }

  private holds(s: number, id: string): boolean {
    if (this.length[s] !== id.length) return false;
    if (id.length > INLINE_UNITS) return this.long[s] === id;
    const at = s * INLINE_UNITS;
    for (let k = 0; k < id.length; k++) if (this.units[at + k] !== id.charCodeAt(k)) return false;
    return true;
  }
}

/**
 * The `count` slots of a ring of `size` slots from `first` on, as [from, n] runs of the underlying
 * arrays, oldest first: one run, or two when they wrap past the end.
 */
export function ringRuns(first: number, count: number, size: number): [number, number][] {
  return first + count <= size ? [[first, count]] : [[first, size - first], [0, first + count - size]];
}

/** FNV-1a over the UTF-16 units. */
export function hashOf(id: string): number {
  let h = 0x811c9dc5 | 0;
  for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193);
  return h;
}
