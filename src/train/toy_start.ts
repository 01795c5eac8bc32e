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
// Chains that start inside their group must also stay there: the first Langevin step is capped at
// half the smallest variance of any group (+σ²; startStep), so that no chain overshoots a tight
// group into the gaps, where the network's field is an extrapolation.
// Pure: no device, no Node built-ins.
import { Rng, deriveSeed } from '../data/rng.js';
import type { StartMixture } from '../score/samplers.js';

/** Rows of the subsample the group statistics use (as dataStats). */
const ROWS = 1000;

/** The seeded subsample (row indices) dataStats and the groups share. */
export function subsampleIndex(n: number, seed: number, rows = ROWS): number[] {
  const m = Math.min(n, rows);
  return m === n ? Array.from({ length: n }, (_, i) => i) : Array.from(new Rng(deriveSeed(seed, 7)).permutation(n).subarray(0, m));
}

/**
 * Single-linkage groups of the subsample at `gap` (data units): for each subsample row its group
 * label (0…), and the rows' indices into `rows`.
 */
export function groupLabels(rows: ArrayLike<number>, dim: number, gap: number, seed = 0): { idx: number[]; label: Int32Array; count: number } {
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

/**
 * The groups holding ≥ minShare of the subsample as a start mixture in model units
 * (u = (x − center)/scale): weights = their shares (renormalised over the groups kept), means and
 * Cholesky factors of cov + σ²I (σ in model units). Null when there are fewer than two such groups.
 */
export function groupStart(rows: ArrayLike<number>, dim: number, gap: number, norm: { center: number[]; scale: number }, sigma: number, minShare: number, seed = 0): StartMixture | null {
  const { idx, label, count } = groupLabels(rows, dim, gap, seed);
  const m = idx.length;
  const size = new Array<number>(count).fill(0);
  for (let i = 0; i < m; i++) size[label[i]]++;
  const kept = size.map((c, g) => [c, g]).filter(([c]) => c >= minShare * m).sort((a, b) => b[0] - a[0]).map(([, g]) => g);
  if (kept.length < 2) return null;
  const total = kept.reduce((t, g) => t + size[g], 0);
  const u = (i: number, k: number) => (rows[idx[i] * dim + k] - norm.center[k]) / norm.scale;
  const out: StartMixture = { weights: [], means: [], chols: [] };
  for (const g of kept) {
    const mean = new Array<number>(dim).fill(0);
    for (let i = 0; i < m; i++) if (label[i] === g) for (let k = 0; k < dim; k++) mean[k] += u(i, k) / size[g];
    const cov = new Float64Array(dim * dim);
    for (let i = 0; i < m; i++) {
      if (label[i] !== g) continue;
      for (let a = 0; a < dim; a++) for (let b = 0; b <= a; b++) cov[a * dim + b] += ((u(i, a) - mean[a]) * (u(i, b) - mean[b])) / size[g];
    }
    for (let a = 0; a < dim; a++) {
      cov[a * dim + a] += sigma * sigma;
      for (let b = 0; b < a; b++) cov[b * dim + a] = cov[a * dim + b];
    }
    out.weights.push(size[g] / total);
    out.means.push(mean);
    out.chols.push(cholesky(cov, dim));
  }
  return out;
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
  return null;
}
