// Sample-quality statistics between two sets of points (row-major [n, dim]), in float64 on the
// CPU. These are evaluation statistics over sample sets, not model ops.
//
//   energyDistance   squared energy distance  2E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖   (U-statistics within
//                    each set, so unbiased: ≈ 0, possibly slightly negative, for equal distributions)
//   mmdRbf           unbiased MMD² with k(a,b) = exp(−‖a−b‖² / (2h²)); h by the median heuristic
//   slicedWasserstein2  √(E_θ W₂²(θᵀX, θᵀY)) over nProj random unit directions θ
//   frechetDistance  ‖μx−μy‖² + tr(Σx + Σy − 2(Σx^½ Σy Σx^½)^½)   (Gaussian fits; FID's formula)
//
// evaluateSamples reports each (ED and MMD as V-statistics, so ≥ 0) against its noise floor: the same statistic between two held-out
// sets of the same size, i.e. what a perfect sampler would score.

import { Rng } from '../data/rng.js';
import { matmulSq, sqrtmPsd } from './linalg.js';

type Points = ArrayLike<number>;

function rows(x: Points, dim: number, what: string): number {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`${what}: dim must be a positive integer, got ${dim}`);
  const n = x.length / dim;
  if (!Number.isInteger(n)) throw new Error(`${what}: ${x.length} values do not make rows of dim ${dim}`);
  return n;
}

function dist2(x: Points, i: number, y: Points, j: number, dim: number): number {
  let s = 0;
  const a = i * dim;
  const b = j * dim;
  for (let k = 0; k < dim; k++) {
    const d = x[a + k] - y[b + k];
    s += d * d;
  }
  return s;
}

/**
 * Squared energy distance. Default: the unbiased U-statistic. `biased`: the V-statistic (within-set
 * means over all n² pairs), which is never negative and whose value for two samples of the same
 * distribution is a positive O(1/n) noise floor that a sampler's score can be compared with.
 */
export function energyDistance(x: Points, y: Points, dim: number, biased = false): number {
  const n = rows(x, dim, 'energyDistance(x)');
  const m = rows(y, dim, 'energyDistance(y)');
  if (n < 2 || m < 2) throw new Error('energyDistance: need at least 2 points in each set');
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += Math.sqrt(dist2(x, i, y, j, dim));
  let xx = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) xx += Math.sqrt(dist2(x, i, x, j, dim));
  let yy = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) yy += Math.sqrt(dist2(y, i, y, j, dim));
  if (biased) return (2 * xy) / (n * m) - (2 * xx) / (n * n) - (2 * yy) / (m * m);
  return (2 * xy) / (n * m) - (2 * xx) / (n * (n - 1)) - (2 * yy) / (m * (m - 1));
}

/** Median of pairwise distances over the pooled sets (on at most `maxPairs` pairs, seeded). */
export function medianBandwidth(x: Points, y: Points, dim: number, seed = 0, maxPairs = 100_000): number {
  const n = rows(x, dim, 'medianBandwidth(x)');
  const m = rows(y, dim, 'medianBandwidth(y)');
  const N = n + m;
  const z = new Float64Array(N * dim);
  for (let i = 0; i < n * dim; i++) z[i] = x[i];
  for (let i = 0; i < m * dim; i++) z[n * dim + i] = y[i];
  const total = (N * (N - 1)) / 2;
  let ds: Float64Array;
  if (total <= maxPairs) {
    ds = new Float64Array(total);
    let k = 0;
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) ds[k++] = dist2(z, i, z, j, dim);
  } else {
    ds = new Float64Array(maxPairs);
    const r = new Rng(seed);
    for (let k = 0; k < maxPairs; k++) {
      const i = r.int(N);
      let j = r.int(N - 1);
      if (j >= i) j++;
      ds[k] = dist2(z, i, z, j, dim);
    }
  }
  if (ds.length === 0) return 1;
  ds.sort();
  const L = ds.length;
  const med2 = L % 2 ? ds[(L - 1) / 2] : 0.5 * (Math.sqrt(ds[L / 2 - 1]) + Math.sqrt(ds[L / 2])) ** 2;
  const h = Math.sqrt(med2);
  return h > 0 ? h : 1;
}

/**
 * MMD² with a Gaussian kernel of bandwidth h (default: median heuristic on x ∪ y). Default the
 * unbiased U-statistic; `biased` gives the non-negative V-statistic (diagonal k(x, x) = 1 included).
 */
export function mmdRbf(x: Points, y: Points, dim: number, bandwidth?: number, biased = false): number {
  const n = rows(x, dim, 'mmdRbf(x)');
  const m = rows(y, dim, 'mmdRbf(y)');
  if (n < 2 || m < 2) throw new Error('mmdRbf: need at least 2 points in each set');
  const h = bandwidth ?? medianBandwidth(x, y, dim);
  const g = -1 / (2 * h * h);
  let xx = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) xx += Math.exp(g * dist2(x, i, x, j, dim));
  let yy = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) yy += Math.exp(g * dist2(y, i, y, j, dim));
  let xy = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) xy += Math.exp(g * dist2(x, i, y, j, dim));
  if (biased) return (n + 2 * xx) / (n * n) + (m + 2 * yy) / (m * m) - (2 * xy) / (n * m);
  return (2 * xx) / (n * (n - 1)) + (2 * yy) / (m * (m - 1)) - (2 * xy) / (n * m);
}

/** Quantile function of sorted values `s` at probability levels (k + ½)/K, k = 0..K−1. */
function quantiles(s: Float64Array, K: number): Float64Array {
  const n = s.length;
  if (n === K) return s;
  const q = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const pos = ((k + 0.5) / K) * n - 0.5; // continuous index, matching the equal-size case
    const lo = Math.min(Math.max(Math.floor(pos), 0), n - 1);
    const hi = Math.min(lo + 1, n - 1);
    const t = Math.min(Math.max(pos - lo, 0), 1);
    q[k] = s[lo] * (1 - t) + s[hi] * t;
  }
  return q;
}

/** Unit directions on the sphere in R^dim (normalised Gaussians), seeded. Row-major [nProj, dim]. */
export function randomDirections(nProj: number, dim: number, seed: number): Float64Array {
  const r = new Rng(seed);
  const th = new Float64Array(nProj * dim);
  for (let p = 0; p < nProj; p++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = r.normal();
      th[p * dim + k] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dim; k++) th[p * dim + k] *= inv;
  }
  return th;
}

/**
 * Sliced 2-Wasserstein distance √(mean over θ of W₂²(θᵀX, θᵀY)); 1-D W₂ by matching quantiles.
 * For Y = X + d (a translation), SW2² = E_θ(θ·d)² = |d|²/dim (|d|²/2 in 2-D). O(nProj·n log n).
 */
export function slicedWasserstein2(x: Points, y: Points, dim: number, nProj = 128, seed = 0): number {
  const n = rows(x, dim, 'slicedWasserstein2(x)');
  const m = rows(y, dim, 'slicedWasserstein2(y)');
  if (n < 1 || m < 1) throw new Error('slicedWasserstein2: need at least 1 point in each set');
  const th = randomDirections(nProj, dim, seed);
  const K = Math.max(n, m);
  const px = new Float64Array(n);
  const py = new Float64Array(m);
  let acc = 0;
  for (let p = 0; p < nProj; p++) {
    const o = p * dim;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += x[i * dim + k] * th[o + k];
      px[i] = s;
    }
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += y[i * dim + k] * th[o + k];
      py[i] = s;
    }
    px.sort();
    py.sort();
    const qx = quantiles(px, K);
    const qy = quantiles(py, K);
    let w = 0;
    for (let k = 0; k < K; k++) {
      const d = qx[k] - qy[k];
      w += d * d;
    }
    acc += w / K;
  }
  return Math.sqrt(acc / nProj);
}

/** Mean and covariance (unbiased, n−1) of rows. */
export function meanCov(x: Points, dim: number): { mean: Float64Array; cov: Float64Array } {
  const n = rows(x, dim, 'meanCov');
  if (n < 2) throw new Error('meanCov: need at least 2 rows');
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += x[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= n;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dim; k++) c[k] = x[i * dim + k] - mean[k];
    for (let a = 0; a < dim; a++) {
      const ca = c[a];
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * c[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { mean, cov };
}

/** Fréchet distance between Gaussians (μ1, Σ1) and (μ2, Σ2). */
export function frechetFromStats(mu1: ArrayLike<number>, cov1: ArrayLike<number>, mu2: ArrayLike<number>, cov2: ArrayLike<number>, dim: number): number {
  let dm = 0;
  for (let k = 0; k < dim; k++) dm += (mu1[k] - mu2[k]) ** 2;
  const s1 = sqrtmPsd(cov1, dim);
  const inner = matmulSq(matmulSq(s1, cov2, dim), s1, dim);
  const root = sqrtmPsd(inner, dim);
  let tr = 0;
  for (let k = 0; k < dim; k++) tr += cov1[k * dim + k] + cov2[k * dim + k] - 2 * root[k * dim + k];
  return Math.max(dm + tr, 0);
}

/** Fréchet distance between Gaussian fits of two feature sets (FID's formula on given features). */
export function frechetDistance(x: Points, y: Points, dim: number): number {
  const a = meanCov(x, dim);
  const b = meanCov(y, dim);
  return frechetFromStats(a.mean, a.cov, b.mean, b.cov, dim);
}

/** `count` rows of x chosen without replacement (seeded); x itself if it has no more rows. */
export function subsampleRows(x: Points, dim: number, count: number, seed: number): Float64Array {
  const n = rows(x, dim, 'subsampleRows');
  const out = new Float64Array(Math.min(count, n) * dim);
  if (count >= n) {
    for (let i = 0; i < x.length; i++) out[i] = x[i];
    return out;
  }
  const perm = new Rng(seed).permutation(n);
  for (let i = 0; i < count; i++) for (let k = 0; k < dim; k++) out[i * dim + k] = x[perm[i] * dim + k];
  return out;
}

export interface SampleMetrics {
  energyDistance: number;
  mmd: number;
  sw2: number;
  /** The same statistics between the two held-out sets: what a perfect sampler would score. */
  floor: { energyDistance: number; mmd: number; sw2: number };
  /** Points per set actually compared. */
  n: number;
  /** The MMD kernel bandwidth used for both comparisons (median heuristic on the held-out sets). */
  bandwidth: number;
}

export interface EvaluateOptions {
  /** At most this many points per set (the O(n²) statistics). Default 2000. */
  maxN?: number;
  /** Random projections for SW2. Default 128. */
  nProj?: number;
  seed?: number;
  /** MMD bandwidth; default the median heuristic on held ∪ held2. */
  bandwidth?: number;
}

/**
 * Compare samples with held-out data, and held-out data with a second held-out set of the same
 * size (the noise floor; with several reference sets, their mean). Every set is subsampled to n = min(maxN, sizes); the MMD bandwidth and
 * SW2 projections are shared by both comparisons so the floor is comparable.
 */
export function evaluateSamples(samples: Points, held: Points, held2: Points | Points[], dim: number, opts: EvaluateOptions = {}): SampleMetrics {
  const maxN = opts.maxN ?? 2000;
  const seed = opts.seed ?? 0;
  const nProj = opts.nProj ?? 128;
  // Several independent reference sets give the floor as a mean: a single pair's statistic is
  // itself a widely spread random variable (e.g. mode weights of a mixture fluctuate).
  const refs = Array.isArray(held2) && typeof held2[0] !== 'number' ? (held2 as Points[]) : [held2 as Points];
  if (!refs.length) throw new Error('evaluateSamples: need at least one reference set for the noise floor');
  const n = Math.min(maxN, rows(samples, dim, 'evaluateSamples(samples)'), rows(held, dim, 'evaluateSamples(held)'), ...refs.map((r) => rows(r, dim, 'evaluateSamples(held2)')));
  if (n < 2) throw new Error(`evaluateSamples: need at least 2 points in each set, have ${n}`);
  const h = subsampleRows(held, dim, n, seed + 1);
  const hs = refs.map((r, k) => subsampleRows(r, dim, n, seed + 2 + k));
  const bw = opts.bandwidth ?? medianBandwidth(h, hs[0], dim, seed);
  const mean = (f: (r: Float64Array) => number) => hs.reduce((acc, r) => acc + f(r), 0) / hs.length;
  const floor = {
    energyDistance: mean((r) => energyDistance(r, h, dim, true)),
    mmd: mean((r) => mmdRbf(r, h, dim, bw, true)),
    sw2: mean((r) => slicedWasserstein2(r, h, dim, nProj, seed)),
  };
  let nonFinite = 0;
  for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i])) nonFinite++;
  if (nonFinite > 0) return { energyDistance: Infinity, mmd: Infinity, sw2: Infinity, floor, n, bandwidth: bw };
  const s = subsampleRows(samples, dim, n, seed);
  return {
    energyDistance: energyDistance(s, h, dim, true),
    mmd: mmdRbf(s, h, dim, bw, true),
    sw2: slicedWasserstein2(s, h, dim, nProj, seed),
    floor,
    n,
    bandwidth: bw,
  };
}
