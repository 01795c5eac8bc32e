// Where single-σ chains start when the data fall into separated groups (issue 15, item 4).
//
// A score learned at one small σ does not determine the relative weights of parts of the data that
// its σ does not bridge (Wenliang & Kanagawa 2020, "Blindness of score-based methods to isolated
// components and mixing proportions"): Langevin on it keeps whatever share of the chains each part's
// basin receives at the start, and in the empty gaps the network's field is an extrapolation, so a
// box start can miss a group entirely or give it any share. What the score lacks is just those
// weights, and the training rows have them: the groups (single linkage at the gap, on the fit's
// subsample) are counted, and the chains start in each group in proportion to its share, from a
// Gaussian with the group's mean and covariance (+σ²I, what the chain samples anyway). The shape
// within each group is still the model's; the groups' weights are counted, not learned.
// The cores of each group (finer links) are the components (coreStart): a group can hold modes
// that its chains do not cross between either — on unequal4 (scripts/toy-mixtures.mjs)
// one Gaussian over a broad mode and two small ones started chains in the empty space between them.
// Its draws are truncated (START_CLIP), and the fit keeps the chains inside the rows' range
// (ToyConfig.bounds): outside the data a single-σ model's field is an extrapolation.
// Chains that start inside their group must also stay there: the first Langevin step is capped at
// half the smallest variance of any group (+σ²; startStep), so that no chain overshoots a tight
// group into the gaps, where the network's field is an extrapolation.
// Pure: no device, no Node built-ins.
import { Rng, deriveSeed } from '../data/rng.js';
import type { Bounds, StartMixture } from '../score/samplers.js';

/**
 * The core start is truncated at this Mahalanobis radius (StartMixture.clip): a core's Gaussian tail
 * reaches where its group has almost no rows, and there a single-σ model's field is an extrapolation
 * that can point away from the data — an SSM model on unequal4 (scripts/toy-mixtures.mjs) sent a
 * chain started 3.5 widths out to |x| ~ 1e20, one or two chains in 1000 per sampler seed, and the
 * energy distance to 1e10× its floor. Langevin fills the tails back in from inside.
 */
export const START_CLIP = 2.5;

/** Rows of the subsample the group statistics use (as dataStats). */
const ROWS = 1000;

/** The seeded subsample (row indices) dataStats and the groups share. */
export function subsampleIndex(n: number, seed: number, rows = ROWS): number[] {
  const m = Math.min(n, rows);
  return m === n ? Array.from({ length: n }, (_, i) => i) : Array.from(new Rng(deriveSeed(seed, 7)).permutation(n).subarray(0, m));
}

/** Single-linkage groups of a subsample: the rows' indices into the data, each one's group label (0…), and the number of groups. */
export interface Groups {
  idx: number[];
  label: Int32Array;
  count: number;
}

/** Single-linkage groups of the seeded subsample at `gap` (data units). */
export function groupLabels(rows: ArrayLike<number>, dim: number, gap: number, seed = 0): Groups {
  const n = Math.floor(rows.length / dim);
  const idx = subsampleIndex(n, seed);
  const m = idx.length;
  const parent = Int32Array.from({ length: m }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const g2 = gap * gap;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      let d2 = 0;
      for (let k = 0; k < dim && d2 < g2; k++) d2 += (rows[idx[i] * dim + k] - rows[idx[j] * dim + k]) ** 2;
      if (d2 < g2) {
        const a = find(i), b = find(j);
        if (a !== b) parent[a] = b;
      }
    }
  }
  const label = new Int32Array(m);
  const ids = new Map<number, number>();
  for (let i = 0; i < m; i++) {
    const r = find(i);
    if (!ids.has(r)) ids.set(r, ids.size);
    label[i] = ids.get(r)!;
  }
  return { idx, label, count: ids.size };
}

/** Lower Cholesky factor of a symmetric positive-definite D×D matrix (row-major). */
export function cholesky(a: ArrayLike<number>, dim: number): number[] {
  const L = new Array<number>(dim * dim).fill(0);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * dim + j];
      for (let k = 0; k < j; k++) s -= L[i * dim + k] * L[j * dim + k];
      if (i === j) {
        if (!(s > 0)) throw new Error('cholesky: matrix is not positive definite');
        L[i * dim + i] = Math.sqrt(s);
      } else L[i * dim + j] = s / L[j * dim + j];
    }
  }
  return L;
}

/** Smallest eigenvalue of A = LLᵀ (L lower, row-major D×D) by inverse iteration: y ← A⁻¹y. */
export function minEigenvalue(L: readonly number[], dim: number): number {
  let y = Array.from({ length: dim }, (_, i) => 1 + i / dim);
  let lam = 0;
  for (let it = 0; it < 100; it++) {
    // solve L w = y, then Lᵀ v = w
    const w = new Array<number>(dim);
    for (let i = 0; i < dim; i++) {
      let s = y[i];
      for (let k = 0; k < i; k++) s -= L[i * dim + k] * w[k];
      w[i] = s / L[i * dim + i];
    }
    const v = new Array<number>(dim);
    for (let i = dim - 1; i >= 0; i--) {
      let s = w[i];
      for (let k = i + 1; k < dim; k++) s -= L[k * dim + i] * v[k];
      v[i] = s / L[i * dim + i];
    }
    const norm = Math.hypot(...v);
    const next = Math.hypot(...y) / norm; // ‖y‖/‖A⁻¹y‖ → λ_min
    y = v.map((t) => t / norm);
    if (Math.abs(next - lam) <= 1e-12 * next) return next;
    lam = next;
  }
  return lam;
}

/**
 * The first Langevin step for chains started in the groups: at most half the smallest variance of
 * any group's start Gaussian (its covariance + σ²I), so α·(stiffness) ≤ ½ inside every group.
 */
export function startStep(mix: StartMixture, dim: number): number {
  return 0.5 * Math.min(...mix.chols.map((L) => minEigenvalue(L, dim)));
}

/** What is wrong with a start mixture read from a file (null: nothing), for a run of dimension `dim`. */
export function startMixtureProblem(m: unknown, dim: number): string | null {
  const o = m as Partial<StartMixture> | null;
  const finite = (a: unknown, len: number) => Array.isArray(a) && a.length === len && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!o || typeof o !== 'object' || !Array.isArray(o.weights) || o.weights.length < 1 || o.weights.length > 1000) return 'must hold 1 to 1000 weights';
  const K = o.weights.length;
  if (!finite(o.weights, K) || o.weights.some((w) => w < 0) || !(o.weights.reduce((t, w) => t + w, 0) > 0)) return 'weights must be finite, non-negative and not all zero';
  if (!Array.isArray(o.means) || o.means.length !== K || !o.means.every((v) => finite(v, dim))) return `needs ${K} means of ${dim} finite numbers`;
  if (!Array.isArray(o.chols) || o.chols.length !== K || !o.chols.every((v) => finite(v, dim * dim))) return `needs ${K} Cholesky factors of ${dim}×${dim} finite numbers`;
  if (o.clip !== undefined && !(typeof o.clip === 'number' && o.clip > 0 && Number.isFinite(o.clip))) return 'clip must be a positive finite number';
  return null;
}

/** What is wrong with a chain box read from a file (null: nothing), for a run of dimension `dim`. */
export function boundsProblem(b: unknown, dim: number): string | null {
  const { lo, hi } = (b ?? {}) as Partial<Bounds>;
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === dim && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  return ok(lo) && ok(hi) && lo.every((v, k) => v < hi[k]) ? null : `needs lo and hi of ${dim} finite numbers each, lo < hi`;
}

/** A candidate core is a mode of its own only if the density between it and the larger core it would join falls below this share of its own. */
export const DIP_RATIO = 0.2;

/**
 * …and only if that dip is not counting noise: under "no dip" (the same density at both points) the
 * valley's share of the two counts is Binomial(own + valley, ½), and the dip must be this unlikely.
 * A Gaussian blob's tail pieces hold 4–10 rows at the link radius and dipped to 1 (p ≈ 0.006–0.02,
 * one blob in ~2000 got a spurious core on the ratio alone); the core-start test's modes hold ≥ 32
 * with valleys of 0–1 (p < 1e-8).
 */
export const DIP_P = 1e-3;

/** P(X ≤ k) for X ~ Binomial(n, ½), summed in log space (n may be thousands). */
export function binomialHalfCdf(k: number, n: number): number {
  if (k >= n) return 1;
  let logC = 0, p = 0;
  for (let j = 0; j <= k; j++) {
    if (j > 0) logC += Math.log(n - j + 1) - Math.log(j);
    p += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, p);
}

/** Whether the density `valley` (rows within the radius) between a candidate and a larger core is a real dip below the candidate's own `own`. */
export function isDip(own: number, valley: number): boolean {
  return valley < DIP_RATIO * own && binomialHalfCdf(valley, own + valley) < DIP_P;
}

/**
 * Which candidate cores (fine components that `isCore` accepts) are only a shoulder of a larger one:
 * the density along the segment from a candidate's mean to the mean of the nearest larger candidate
 * of the same group never falls significantly below DIP_RATIO of the density at its own mean
 * (isDip). The density is the count of subsample rows within `radius` of nine points on the segment.
 * Linked at 4 median nearest-neighbour distances, a 2-D Gaussian leaves a 2–4 % piece of its tail
 * apart in one draw in twenty: the density toward the blob's centre mostly stays above 0.3 of the
 * piece's own (measured; the rare lower dips are of a few rows, which isDip's count test discounts),
 * so it is a shoulder, not a mode. Modes that Langevin does not cross between have a gap (their
 * density falls to a few per cent of their own). Relative to its own end, not the lower end: at this
 * radius a broad mode's centre holds only ~10 rows, and against that count a small tight mode's 0.2
 * dip was noise (it merged in one draw in fifty). A shoulder is not handed to that neighbour: the
 * nearest larger core need not be the one it hangs from (a broad mode's tail piece between it and a
 * small mode is nearer the small one), so coreStart lets its rows go as tails, to the likeliest core.
 */
function shoulders(rows: ArrayLike<number>, dim: number, idx: number[], fine: { label: Int32Array; count: number }, group: Int32Array, isCore: (f: number) => boolean, radius: number): Uint8Array {
  const m = idx.length;
  const shoulder = new Uint8Array(fine.count);
  const size = new Float64Array(fine.count), mean = Array.from({ length: fine.count }, () => new Float64Array(dim));
  const groupOf = new Int32Array(fine.count);
  for (let i = 0; i < m; i++) {
    const f = fine.label[i];
    size[f]++;
    groupOf[f] = group[i];
    for (let a = 0; a < dim; a++) mean[f][a] += rows[idx[i] * dim + a];
  }
  const cand = Array.from({ length: fine.count }, (_, f) => f).filter((f) => isCore(f));
  for (const f of cand) for (let a = 0; a < dim; a++) mean[f][a] /= size[f];
  const r2 = radius * radius, p = new Float64Array(dim);
  const density = (a: Float64Array, b: Float64Array, t: number) => {
    for (let k = 0; k < dim; k++) p[k] = a[k] + t * (b[k] - a[k]);
    let c = 0;
    for (let i = 0; i < m; i++) {
      let d = 0;
      for (let k = 0; k < dim && d < r2; k++) d += (rows[idx[i] * dim + k] - p[k]) ** 2;
      if (d < r2) c++;
    }
    return c;
  };
  for (const f of cand) {
    let best = Infinity, q = -1;
    for (const g of cand) {
      if (g === f || groupOf[g] !== groupOf[f] || size[g] < size[f] || (size[g] === size[f] && g < f)) continue;
      let d = 0;
      for (let k = 0; k < dim; k++) d += (mean[g][k] - mean[f][k]) ** 2;
      if (d < best) [best, q] = [d, g];
    }
    if (q < 0) continue;
    const own = density(mean[f], mean[q], 0);
    let valley = Infinity;
    for (let j = 1; j < 8; j++) valley = Math.min(valley, density(mean[f], mean[q], j / 8));
    if (!isDip(own, valley)) shoulder[f] = 1;
  }
  return shoulder;
}

/** A Gaussian's sufficient statistics of the vectors added: count, sum and the lower triangle of Σ v vᵀ (float64). */
class Moments {
  n = 0;
  private readonly sum: Float64Array;
  private readonly sq: Float64Array;
  constructor(private readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sq = new Float64Array(dim * dim);
  }
  /** Adds v = x[off .. off + dim). */
  add(x: ArrayLike<number>, off = 0): void {
    const d = this.dim;
    this.n++;
    for (let a = 0; a < d; a++) {
      const xa = x[off + a];
      this.sum[a] += xa;
      for (let b = 0; b <= a; b++) this.sq[a * d + b] += xa * x[off + b];
    }
  }
  mean(): number[] {
    return Array.from(this.sum, (v) => v / this.n);
  }
  /** The (biased) covariance about `mean`, full and symmetric. */
  cov(mean = this.mean()): Float64Array {
    const d = this.dim, c = new Float64Array(d * d);
    for (let a = 0; a < d; a++) for (let b = 0; b <= a; b++) c[a * d + b] = c[b * d + a] = this.sq[a * d + b] / this.n - mean[a] * mean[b];
    return c;
  }
}

/**
 * The start mixture by density cores (issue 15, item 4). Within each separated group (`coarse`:
 * groupLabels at the groups' gap), the subsample is linked again at the finer `coreGap`, so that
 * modes close enough to fall into one group (two tight modes 6–7 widths apart, a broad mode whose
 * tail reaches a small one) still get a component each: Langevin on a single-σ score does not move
 * mass between them within its budget either. Finely linked sets holding ≥ minShare of the
 * subsample are the cores, except a shoulder of a larger one (no density dip between them:
 * shoulders), whose rows are tails; a group (≥ minShare) with none is one core as a whole. Every other
 * row (sparse tails, which break apart at fine gaps, and shoulders) joins the likeliest core of its group (the
 * cores' Gaussians, weighted by their counts), so tails are neither dropped nor handed to a
 * neighbour that happens to be nearer; specks in a group without a core join the core of their
 * nearest core row. Every training row goes as its nearest subsample row (to the same core when
 * within the core gap of a core row, else as a tail), and each core's weight, mean and
 * covariance (+σ²I) are counted over all the rows (the weights' error is that of n rows, not of
 * the 1000-row subsample). Model units, largest first. Null when there are fewer than two cores.
 * `coarse` comes from groupLabels with the same rows and seed (the same subsample); with coreGap ≥
 * its gap the cores are the groups themselves.
 */
export function coreStart(rows: ArrayLike<number>, dim: number, coarse: Groups, coreGap: number, norm: { center: number[]; scale: number }, sigma: number, minShare: number, seed = 0): StartMixture | null {
  const linked = groupLabels(rows, dim, coreGap, seed);
  if (linked.idx.length !== coarse.idx.length || linked.idx.some((r, i) => r !== coarse.idx[i])) throw new Error('coreStart: the groups were counted on another subsample (rows or seed differ)');
  // the fine sets split by group, so that a core never spans two groups whatever coreGap is
  const pair = new Map<number, number>();
  const fineLabel = linked.label.map((f, i) => {
    const key = f * coarse.count + coarse.label[i];
    if (!pair.has(key)) pair.set(key, pair.size);
    return pair.get(key)!;
  });
  const fine = { label: fineLabel, count: pair.size };
  const idx = coarse.idx;
  const m = idx.length;
  const count = (l: Int32Array, k: number) => {
    const c = new Array<number>(k).fill(0);
    for (const g of l) c[g]++;
    return c;
  };
  const cSize = count(coarse.label, coarse.count), fSize = count(fine.label, fine.count);
  // core ids: fine components ≥ minShare, then kept groups without one
  const fineCore = new Int32Array(fine.count).fill(-1), groupCore = new Int32Array(coarse.count).fill(-1);
  // each group's fine cores (none: the group, if large enough, is one core)
  const coresOf: number[][] = Array.from({ length: coarse.count }, () => []);
  // candidate cores: fine components ≥ minShare, but not those that are only a shoulder of a larger
  // one (no density dip between them): their rows go as tails
  const shoulder = shoulders(rows, dim, idx, fine, coarse.label, (f) => fSize[f] >= minShare * m, coreGap);
  let K = 0;
  for (let i = 0; i < m; i++) {
    const f = fine.label[i];
    if (fSize[f] < minShare * m || shoulder[f] || fineCore[f] >= 0) continue;
    fineCore[f] = K++;
    coresOf[coarse.label[i]].push(fineCore[f]);
  }
  for (let g = 0; g < coarse.count; g++) if (coresOf[g].length === 0 && cSize[g] >= minShare * m) groupCore[g] = K++;
  if (K < 2) return null;
  const own = (i: number) => (fineCore[fine.label[i]] >= 0 ? fineCore[fine.label[i]] : groupCore[coarse.label[i]]);
  const d2 = (a: number, b: number) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += (rows[a * dim + k] - rows[b * dim + k]) ** 2;
    return s;
  };
  // Tails: a row not finely linked to a core goes to the core of its group whose Gaussian (the core
  // rows' mean and covariance, weighted by their count) explains it best — the likeliest component,
  // not the nearest row: the broad mode's tail beside a thin dense one is nearer the thin one's
  // rows, yet far more likely under the broad one (nearest-row assignment moved 0.8 % of unequal-4's
  // broad mode to its neighbours, 1.2 % in one draw in ten). Rows of a group with no core (specks
  // below minShare) join the core of their nearest core row.
  const gauss = Array.from({ length: K }, () => new Moments(dim));
  for (let i = 0; i < m; i++) {
    const c = fineCore[fine.label[i]];
    if (c >= 0) gauss[c].add(rows, idx[i] * dim);
  }
  const model = gauss.map((G) => {
    if (G.n === 0) return null; // a group core: it takes its whole group, no likelihood needed
    const mean = G.mean(), cov = G.cov(mean);
    let tr = 0;
    for (let a = 0; a < dim; a++) tr += cov[a * dim + a];
    // σ² (data units) and a relative floor keep a flat core (rows on a line) positive definite
    const ridge = (sigma * norm.scale) ** 2 + 1e-9 * tr + 1e-300;
    for (let a = 0; a < dim; a++) cov[a * dim + a] += ridge;
    const L = cholesky(cov, dim);
    let logDet = 0;
    for (let a = 0; a < dim; a++) logDet += 2 * Math.log(L[a * dim + a]);
    return { mean, L, logPrior: Math.log(G.n) - 0.5 * logDet };
  });
  const w = new Float64Array(dim);
  const likeliest = (r: number, cores: number[]) => {
    let best = -Infinity, kb = cores[0];
    for (const k of cores) {
      const { mean, L, logPrior } = model[k]!;
      let q = 0;
      for (let a = 0; a < dim; a++) {
        let t = rows[r * dim + a] - mean[a];
        for (let b = 0; b < a; b++) t -= L[a * dim + b] * w[b];
        w[a] = t / L[a * dim + a];
        q += w[a] * w[a];
      }
      const ll = logPrior - 0.5 * q;
      if (ll > best) [best, kb] = [ll, k];
    }
    return kb;
  };
  // subsample rows → core
  const sub = Int32Array.from({ length: m }, (_, i) => own(i));
  for (let i = 0; i < m; i++) {
    if (sub[i] >= 0) continue;
    const g = coarse.label[i];
    if (coresOf[g].length > 0) {
      sub[i] = likeliest(idx[i], coresOf[g]);
      continue;
    }
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      const c = own(j);
      if (c < 0) continue;
      const d = d2(idx[i], idx[j]);
      if (d < best) [best, sub[i]] = [d, c];
    }
  }
  // every row → as its nearest subsample row: the same core when linked to it at the core gap, the
  // likeliest core of its group when that row is a tail; weights, means and covariances over all rows
  const n = Math.floor(rows.length / dim);
  const mom = Array.from({ length: K }, () => new Moments(dim));
  const u = new Float64Array(dim);
  const gap2 = coreGap * coreGap;
  for (let r = 0; r < n; r++) {
    let best = Infinity, j = 0;
    for (let i = 0; i < m; i++) {
      const d = d2(r, idx[i]);
      if (d < best) [best, j] = [d, i];
    }
    const g = coarse.label[j];
    const linkedToCore = fineCore[fine.label[j]] >= 0 && best < gap2;
    const k = linkedToCore || coresOf[g].length === 0 ? sub[j] : likeliest(r, coresOf[g]);
    for (let a = 0; a < dim; a++) u[a] = (rows[r * dim + a] - norm.center[a]) / norm.scale;
    mom[k].add(u);
  }
  const order = Array.from({ length: K }, (_, k) => k).filter((k) => mom[k].n >= 2).sort((a, b) => mom[b].n - mom[a].n);
  if (order.length < 2) return null;
  const out: StartMixture = { weights: [], means: [], chols: [], clip: START_CLIP };
  for (const k of order) {
    const mean = mom[k].mean(), cov = mom[k].cov(mean);
    for (let a = 0; a < dim; a++) cov[a * dim + a] += sigma * sigma;
    out.weights.push(mom[k].n / n);
    out.means.push(mean);
    out.chols.push(cholesky(cov, dim));
  }
  return out;
}
