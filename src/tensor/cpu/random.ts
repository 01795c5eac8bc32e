// Bit-exact CPU twin of shaders/rng.wgsl: Philox4x32-10 (Salmon et al. 2011) and the maps from its
// 32-bit words to uniforms, normals, signs and integers. The float maps run in float64 from the
// same words, so the kernels' f32 results are compared with a tolerance and the words bit for bit.

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;

/** (hi, lo) words of the 64-bit product a·b of two u32s (16-bit halves, as in the WGSL). */
export function mulhilo32(a: number, b: number): [number, number] {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const ll = al * bl, lh = al * bh, hl = ah * bl; // each < 2^32: exact in a double
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (Math.imul(ah, bh) + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** The same product through BigInt (an independent check of mulhilo32). */
export function mulhilo32Big(a: number, b: number): [number, number] {
  const p = BigInt(a >>> 0) * BigInt(b >>> 0);
  return [Number(p >> 32n), Number(p & 0xffffffffn)];
}

/** Philox4x32-10: counter (4 u32), key (2 u32) → 4 u32 words. */
export function philox4x32_10(ctr: readonly number[], key: readonly number[]): Uint32Array {
  let c0 = ctr[0] >>> 0, c1 = ctr[1] >>> 0, c2 = ctr[2] >>> 0, c3 = ctr[3] >>> 0;
  let k0 = key[0] >>> 0, k1 = key[1] >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo32(PHILOX_M0, c0);
    const [hi1, lo1] = mulhilo32(PHILOX_M1, c2);
    const n0 = (hi1 ^ c1 ^ k0) >>> 0, n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** Where a draw sits in the Philox space: key (seed, stream), counter (block, offset, step). */
export interface RandomKey {
  seed: number;
  stream: number;
  offset: number;
  step: number;
}

/** Fold any safe integer to a u32 (seeds above 2^32 keep their high bits). */
export function u32Of(x: number): number {
  if (!Number.isFinite(x)) throw new Error(`random key part must be a finite number, got ${x}`);
  const i = Math.trunc(x);
  const lo = ((i % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const hi = Math.floor(i / 2 ** 32);
  return (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
}

/** The step as (lo, hi) words as the clock buffer holds it. */
export function stepWords(step: number): [number, number] {
  if (!Number.isInteger(step) || step < 0 || step > Number.MAX_SAFE_INTEGER) throw new Error(`clock step must be a non-negative safe integer, got ${step}`);
  return [step % 2 ** 32, Math.floor(step / 2 ** 32)];
}

/** The first n raw words of a draw (element i = word i%4 of block i/4). */
export function randomBitsRef(n: number, k: RandomKey): Uint32Array {
  const out = new Uint32Array(n);
  const [slo, shi] = stepWords(k.step);
  const key = [u32Of(k.seed), u32Of(k.stream)];
  for (let g = 0; g * 4 < n; g++) {
    const w = philox4x32_10([g, k.offset >>> 0, slo, shi], key);
    for (let j = 0; j < 4 && g * 4 + j < n; j++) out[g * 4 + j] = w[j];
  }
  return out;
}

const TWO_M24 = 2 ** -24;
export const u01Open1 = (x: number) => (x >>> 8) * TWO_M24; // [0, 1)
export const u01Open0 = (x: number) => ((x >>> 8) + 1) * TWO_M24; // (0, 1]

export function uniformRef(n: number, k: RandomKey, lo = 0, hi = 1): Float64Array {
  const w = randomBitsRef(n, k);
  return Float64Array.from(w, (x) => lo + (hi - lo) * u01Open1(x));
}

/** Box–Muller on word pairs (0,1) and (2,3) of each block, angle in [-π, π). */
export function normalRef(n: number, k: RandomKey, mean = 0, std = 1): Float64Array {
  const w = randomBitsRef(Math.ceil(n / 4) * 4, k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const b = i - (i % 2);
    const r = Math.sqrt(-2 * Math.log(u01Open0(w[b])));
    const t = 2 * Math.PI * u01Open1(w[b + 1]) - Math.PI;
    out[i] = mean + std * r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(t);
  }
  return out;
}

export function rademacherRef(n: number, k: RandomKey): Float64Array {
  return Float64Array.from(randomBitsRef(n, k), (x) => (x & 0x80000000 ? 1 : -1));
}

export function randintRef(n: number, high: number, k: RandomKey): Float64Array {
  return Float64Array.from(randomBitsRef(n, k), (x) => mulhilo32(x, high >>> 0)[0]);
}

/** Standard normal CDF Φ (erfc by a continued-fraction-free rational approximation, |err| < 1.2e-7). */
export function normalCdf(x: number): number {
  // Numerical Recipes erfc (Chebyshev fit), accurate to 1.2e-7 everywhere.
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r / 2 : r / 2;
}

/** Kolmogorov–Smirnov statistic D = sup |F_n − F| of a sample against a continuous CDF. */
export function ksStatistic(sample: ArrayLike<number>, cdf: (x: number) => number): number {
  const s = Float64Array.from(sample).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(s[i]);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}
