// Seeded CPU random numbers for data sets and metrics (not the on-device Philox stream).
// mulberry32 for uniforms, Box–Muller for normals. Deterministic for a given seed on every platform.

export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed: number) {
    // Mix the seed (any finite number) into 32 bits so nearby seeds give unrelated streams.
    let h = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (h ^ (h >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/** mulberry32 as a bare function: returns a generator of uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

/** A seed for sub-stream `stream` of `seed` (so train / held-out draws never share a stream). */
export function deriveSeed(seed: number, stream: number): number {
  let h = Math.imul((Math.floor(seed) >>> 0) ^ 0x27d4eb2d, 0x165667b1) >>> 0;
  h = Math.imul(h ^ (h >>> 15) ^ Math.imul(stream + 1, 0x9e3779b1), 0x85ebca77) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}
