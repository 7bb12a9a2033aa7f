// Seeded, deterministic pseudo-random numbers for training: weight initialisation and
// mini-batch order. Never Math.random: two runs with the same seed must produce the same
// model bytes. xoshiro128** (Blackman & Vigna) seeded through splitmix32; 32-bit integer
// arithmetic only, so the sequence is identical on every platform and Node version.

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed` is any integer; it is reduced to 32 bits. */
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      // splitmix32: spreads a small seed over the whole 128-bit state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** Uniform integer in [0, n), n ≤ 2^32; rejection sampling keeps it unbiased. */
  nextInt(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const v = this.nextUint32();
      if (v < limit) return v % n;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle(values: Int32Array | number[]): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = values[i]!;
      values[i] = values[j]!;
      values[j] = tmp;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
