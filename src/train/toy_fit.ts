// Defaults that fit the data (issue 15, item 4). A toy run's network sees the data standardised,
// u = (x − μ)/s with μ the data's mean and s its RMS standard deviation (one number: the geometry is
// kept), and every noise scale, step size and starting distribution is chosen from the training
// rows in those units, by one rule for the built-in sets and for a user's .npy alike:
//
//   NCSN and annealed Langevin, NCSNv2's rules (Song & Ermon 2020):
//     σ_max = the largest distance between two training points (technique 1; on a subsample),
//     σ_min = half the median nearest-neighbour distance (in a 1000-row subsample),
//     γ from technique 2 (ncsnv2Gamma), capped at 1.6 where low dimensions leave it unbounded,
//     L = ⌈ln(σ_max/σ_min)/ln γ⌉ + 1 levels, T = 100 steps per level, ε from technique 4
//     (ncsnv2StepSize) raised to give the chains enough relaxation per e-fold of σ to share mass
//     between modes (annealedStep), chains started from the prior N(0, σ_max²I) — around the data mean.
//   Single-σ objectives (DSM, DEEN; ESM/SSM/SSM-VR on the data smoothed by the same σ):
//     σ = SINGLE_SIGMA s, plain Langevin α from 0.025 s² decaying to 2.5e-5 s², chains started
//     uniform on μ ± 1.5 s — the constants tuned on the built-in sets (s ≈ 2 there) expressed in
//     units of s; where the data hold two or more cores (modes linked at CORE_NN median nearest-
//     neighbour distances, inside one group or across groups that σ does not bridge), chains start
//     in the cores in proportion to their shares of the rows instead (toy_start.ts: the score
//     cannot know the weights of modes Langevin does not cross between), no further than
//     START_CLIP widths from a core's mean, and stay within the rows' range.
//
// Everything the rules chose is stored in the run's config (in model units, with `norm`), so
// `sample` and `eval` reuse it; samples are mapped back to data units (x = μ + s·u) before anyone
// sees them. Pure: no device, no Node built-ins.
import type { ToyConfig, ToyNorm } from './toy_config.js';
import type { Bounds } from '../score/samplers.js';
import { ncsnv2Gamma } from '../score/sigmas.js';
import { ncsnv2StepSize } from '../score/sampling/annealed.js';
import { coreStart, groupLabels, startStep, subsampleIndex, type Groups } from './toy_start.js';

export interface DataStats {
  /** Per-dimension mean. */
  mean: Float64Array;
  /** RMS standard deviation over dimensions: √(mean_d var_d). */
  scale: number;
  /** Largest distance between two rows of the subsample (data units). */
  maxDist: number;
  /** Median over the subsample of each row's distance to its nearest other row (data units). */
  nnDist: number;
  /** Rows in the subsample. */
  m: number;
}

/** Rows of the subsample the distance statistics use (O(m²) distances: ~0.5 M at 1000). */
export const STATS_ROWS = 1000;
/** Low-dimensional cap on NCSNv2's γ (its rule puts no bound below D = 5): the tuned toy ratio. */
export const GAMMA_CAP = 1.6;
/** σ_min as a fraction of the median nearest-neighbour distance. */
export const NN_FRACTION = 0.5;
/** Steps per level of annealed Langevin (NCSN's T). */
export const STEPS_PER_LEVEL = 100;
/**
 * Langevin relaxation per e-fold of σ that annealed chains get at least: T·u/ln γ with u = α_i/(2σ_i²)
 * (NCSNv2's ε/σ_L²). Mode weights are settled where σ falls through the gaps between modes; a chain
 * that relaxes too little there keeps the shares it had a level earlier, biased toward equal weights.
 * NCSNv2's technique 4 sizes ε for the last level of a set of points and gives ≈ 7 per e-fold at
 * T = 100, γ = 1.6 (CIFAR-10's own settings: ≈ 8). Run with the exact score of two made-up 2-D
 * mixtures with unequal weights (n = 2000, 3 seeds), the error in mode weights (total variation)
 * falls roughly as 1/(relaxation per e-fold): 0.05–0.06 at 7, 0.03 at 20, 0.01–0.02 at 35, sampling
 * noise (≤ 0.015) at 55. The relaxation costs no evaluations (same T and levels), only a larger step.
 */
export const MIX_PER_EFOLD = 40;
/** Largest u: the Langevin step's own variance excess at the stiffest level, 1/(1 − u/2), stays ≤ 14 %. */
export const U_MAX = 0.25;

/** Mean, scale and the distance statistics of [n, dim] rows, in float64 (subsample seeded). */
export function dataStats(rows: ArrayLike<number>, dim: number, seed = 0): DataStats {
  const n = Math.floor(rows.length / dim);
  if (!(n >= 2) || n * dim !== rows.length) throw new Error(`dataStats: need at least 2 rows of ${dim} values, got ${rows.length} values`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) mean[k] += rows[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) ss += (rows[i * dim + k] - mean[k]) ** 2;
  const scale = Math.sqrt(ss / (n * dim));
  const m = Math.min(n, STATS_ROWS);
  const idx = subsampleIndex(n, seed, STATS_ROWS);
  const sub = new Float64Array(m * dim);
  for (let i = 0; i < m; i++) for (let k = 0; k < dim; k++) sub[i * dim + k] = rows[idx[i] * dim + k];
  const nn = new Float64Array(m).fill(Infinity);
  let max2 = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      let d2 = 0;
      for (let k = 0; k < dim; k++) d2 += (sub[i * dim + k] - sub[j * dim + k]) ** 2;
      if (d2 > max2) max2 = d2;
      if (d2 < nn[i]) nn[i] = d2;
      if (d2 < nn[j]) nn[j] = d2;
    }
  }
  const sorted = Float64Array.from(nn).sort();
  const med2 = m % 2 ? sorted[(m - 1) / 2] : (Math.sqrt(sorted[m / 2 - 1]) + Math.sqrt(sorted[m / 2])) ** 2 / 4;
  return { mean, scale, maxDist: Math.sqrt(max2), nnDist: Math.sqrt(med2), m };
}

/** Groups must hold at least this share of the subsample to count (sparse tails are not groups). */
export const GROUP_MIN_SHARE = 0.02;
/**
 * Gaps wider than this many σ separate groups for a single-σ score: in the middle of an empty gap of
 * g the σ-smoothed density is about e^{−g²/8σ²} of its value at the edges (~1 % at 6σ), so Langevin on
 * that score no longer carries mass across and cannot learn or restore the groups' relative weights.
 */
export const GAP_SIGMAS = 6;
/**
 * …and wider than this many median nearest-neighbour distances: on a finite subsample, sparser tails
 * break apart at a few of them (a 300-point 2-D Gaussian did at 5), and are not groups.
 */
export const GAP_NN = 8;
/**
 * The start mixture's components are linked at this many median nearest-neighbour distances, finer
 * than the groups' gap (toy_start.ts coreStart): modes that one group holds but Langevin does not
 * cross — two tight modes 6–7 widths apart, a broad mode whose tail reaches a small one (unequal4 in
 * scripts/toy-mixtures.mjs) — each get their counted share.
 */
export const CORE_NN = 4;
/**
 * The single-σ objectives' σ (and the checkerboard's smoothing), in units of the data's scale s.
 * Measured (scripts/toy-mixtures.mjs, README): at 0.05 s DSM misplaced the swiss roll's mass along
 * the roll (7.2× the energy-distance floor: the chains do not travel a thin connected arm at that
 * σ); at 0.1 s it gave 1.4×, and the counted core start (below) keeps unequal mode weights, which a
 * wider σ would otherwise blur by merging modes into one group.
 */
export const SINGLE_SIGMA = 0.1;
/** The box single-σ chains are kept in (ToyConfig.bounds): the rows' range widened by this share of it each side. */
export const BOUNDS_MARGIN = 0.1;

/**
 * Groups of the data that no chain of points closer than `gap` (data units) joins, counted on the
 * same seeded subsample as dataStats (single linkage); only groups holding ≥ GROUP_MIN_SHARE of it
 * count. Returns their shares, largest first.
 */
export function separatedGroups(rows: ArrayLike<number>, dim: number, gap: number, seed = 0): number[] {
  return groupShares(groupLabels(rows, dim, gap, seed));
}

/** The shares of the groups holding ≥ GROUP_MIN_SHARE of the subsample, largest first. */
function groupShares({ label, count }: Groups): number[] {
  const size = new Array<number>(count).fill(0);
  for (const g of label) size[g]++;
  return size.filter((c) => c >= GROUP_MIN_SHARE * label.length).map((c) => c / label.length).sort((a, b) => b - a);
}

/** NCSN levels and annealed-Langevin step from the statistics, in model units (÷ scale). */
export function ncsnRules(st: DataStats, dim: number): { sigmaMax: number; sigmaMin: number; levels: number; gamma: number; eps: number; T: number } {
  const s = st.scale > 0 ? st.scale : 1;
  const sigmaMax = st.maxDist / s;
  // duplicate rows give a zero nearest-neighbour distance: keep σ_min above 1e-4 of σ_max
  const sigmaMin = Math.min(Math.max((NN_FRACTION * st.nnDist) / s, 1e-4 * sigmaMax), sigmaMax / GAMMA_CAP);
  const gammaRule = Math.min(ncsnv2Gamma(dim), GAMMA_CAP);
  const levels = Math.ceil(Math.log(sigmaMax / sigmaMin) / Math.log(gammaRule) - 1e-9) + 1;
  const gamma = Math.exp(Math.log(sigmaMax / sigmaMin) / (levels - 1));
  const T = STEPS_PER_LEVEL;
  return { sigmaMax, sigmaMin, levels, gamma, eps: annealedStep(gamma, sigmaMin, T), T };
}

/**
 * The annealed chain's base step α_L (x ← x + (α_i/2)s + √α_i z, α_i = α_L σ_i²/σ_L²): NCSNv2's
 * technique 4, raised where it leaves less than MIX_PER_EFOLD of relaxation per e-fold of σ (few,
 * widely spaced levels: low dimensions), never beyond U_MAX.
 */
export function annealedStep(gamma: number, sigmaMin: number, T: number): number {
  const rule = ncsnv2StepSize(gamma, sigmaMin, T);
  const uMix = Math.min((MIX_PER_EFOLD * Math.log(gamma)) / T, U_MAX);
  return Math.max(rule, 2 * uMix * sigmaMin * sigmaMin);
}

/** Values a user set explicitly, in data units (CLI flags): they win over the rules. */
export interface ToyFitOverrides {
  sigma?: number;
  sigmaMax?: number;
  sigmaMin?: number;
  levels?: number;
}

/**
 * The config with its data-derived choices: `norm`, the noise scales, the sampler's step sizes and
 * starting distribution (model units). Built-in sets and files alike.
 */
export function fitToyConfig(cfg: ToyConfig, train: ArrayLike<number>, dim: number, fixed: ToyFitOverrides = {}): ToyConfig {
  const st = dataStats(train, dim, cfg.seed);
  const s = st.scale > 0 ? st.scale : 1;
  const norm: ToyNorm = { center: Array.from(st.mean), scale: s };
  const out: ToyConfig = { ...cfg, dim, norm, fit: { scale: s, maxDist: st.maxDist, nnDist: st.nnDist } };
  if (cfg.loss === 'ncsn') {
    const r = ncsnRules(st, dim);
    out.sigmaMax = fixed.sigmaMax !== undefined ? fixed.sigmaMax / s : r.sigmaMax;
    out.sigmaMin = fixed.sigmaMin !== undefined ? fixed.sigmaMin / s : r.sigmaMin;
    out.levels = fixed.levels ?? (fixed.sigmaMax !== undefined || fixed.sigmaMin !== undefined ? ncsnRules({ ...st, maxDist: out.sigmaMax * s, nnDist: (out.sigmaMin * s) / NN_FRACTION }, dim).levels : r.levels);
    const gamma = out.levels > 1 ? Math.exp(Math.log(out.sigmaMax / out.sigmaMin) / (out.levels - 1)) : GAMMA_CAP;
    out.sampleSteps = r.T;
    out.stepSize = annealedStep(Math.max(gamma, 1 + 1e-6), out.sigmaMin, r.T);
    out.init = 'normal';
    out.initScale = out.sigmaMax;
  } else {
    // the tuned toy constants (data scale s ≈ 2) in units of s
    // DSM and DEEN learn the score of the data smoothed by σ; ESM, SSM and SSM-VR learn it too, by
    // perturbing the data (as NCSN's sliced variant does): unsmoothed, their score of a thin set is
    // sharp where Langevin must travel (swiss roll ×100: SSM 2.8×, SSM-VR 3.4× the floor; smoothed
    // 1.7×, 1.9×), and a discontinuous density (the checkerboard) has no score at its edges
    const sigma = fixed.sigma !== undefined ? fixed.sigma / s : SINGLE_SIGMA;
    const smooths = cfg.loss === 'esm' || cfg.loss === 'ssm' || cfg.loss === 'ssmvr';
    out.sigma = sigma;
    out.dataNoise = smooths ? sigma : 0;
    out.stepSize = 0.025;
    out.stepSizeEnd = 2.5e-5;
    out.init = 'uniform';
    out.initScale = 1.5;
    // what such a score cannot do: weigh groups of the data that its σ does not bridge, or modes of
    // one group that Langevin does not cross between in its steps. The chains start in each core in
    // proportion to its share of the rows instead (toy_start.ts); one core: the uniform box
    const gap = Math.max(GAP_SIGMAS * Math.max(out.sigma, SINGLE_SIGMA) * s, GAP_NN * st.nnDist);
    const linked = groupLabels(train, dim, gap, cfg.seed);
    const groups = groupShares(linked).length;
    const start = coreStart(train, dim, linked, Math.min(CORE_NN * st.nnDist, gap), norm, Math.max(out.sigma, out.dataNoise), GROUP_MIN_SHARE, cfg.seed);
    out.fit = { ...out.fit!, groups: Math.max(groups, 1), gap };
    if (start) {
      out.init = 'mixture';
      out.startMixture = start;
      // and the chains stay near the rows: an SSM model on unequal4 (scripts/toy-mixtures.mjs) points
      // away from the data 5 widths left of its broad mode, and one chain in 1000 that got there ran
      // off to |x| ~ 1e13 (energy distance 1e10× its floor)
      out.bounds = rowBounds(train, dim, norm, BOUNDS_MARGIN);
      out.stepSize = Math.min(out.stepSize, startStep(start, dim));
      out.stepSizeEnd = Math.min(out.stepSizeEnd, out.stepSize);
    }
  }
  return out;
}

/** Each dimension's range over the rows, widened by `margin` of it each side, in model units. */
export function rowBounds(rows: ArrayLike<number>, dim: number, norm: ToyNorm, margin: number): Bounds {
  const lo = new Array<number>(dim).fill(Infinity), hi = new Array<number>(dim).fill(-Infinity);
  for (let i = 0; i < rows.length; i++) {
    const k = i % dim;
    if (rows[i] < lo[k]) lo[k] = rows[i];
    if (rows[i] > hi[k]) hi[k] = rows[i];
  }
  const u = (v: number, k: number) => (v - norm.center[k]) / norm.scale;
  return {
    lo: lo.map((v, k) => u(v - margin * (hi[k] - v), k)),
    hi: hi.map((v, k) => u(v + margin * (v - lo[k]), k)),
  };
}

/** One line saying what the rules chose, in data units. */
export function describeFit(cfg: ToyConfig): string {
  const s = cfg.norm?.scale ?? 1;
  const f = (v: number) => (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
  const centre = `μ = (${(cfg.norm?.center ?? []).slice(0, 4).map(f).join(', ')}${cfg.dim > 4 ? ', …' : ''})`;
  const head = `fit to the data: scale s = ${f(s)}, ${centre}`;
  if (cfg.loss === 'ncsn') {
    const gamma = cfg.levels > 1 ? Math.exp(Math.log(cfg.sigmaMax / cfg.sigmaMin) / (cfg.levels - 1)) : 1;
    return `${head}; σ ${f(cfg.sigmaMax * s)} → ${f(cfg.sigmaMin * s)} in ${cfg.levels} levels (γ = ${gamma.toFixed(3)}), annealed Langevin T = ${cfg.sampleSteps}, ε = ${f(cfg.stepSize * s * s)}, start N(μ, ${f(cfg.initScale * s)}²I)`;
  }
  const sm = cfg.loss === 'dsm' || cfg.loss === 'deen' ? `σ = ${f(cfg.sigma * s)}${cfg.antithetic ? ' (noise in ±z pairs)' : ''}` : cfg.dataNoise > 0 ? `data smoothed by σ = ${f(cfg.dataNoise * s)}` : 'no smoothing';
  const start = cfg.init === 'mixture' && cfg.startMixture
    ? `start in ${cfg.startMixture.weights.length} cores of the data (${cfg.fit?.groups ?? '?'} separated group${cfg.fit?.groups === 1 ? '' : 's'}) by their shares (${cfg.startMixture.weights.map((w) => (100 * w).toFixed(1) + ' %').join(', ')})${cfg.startMixture.clip ? `, within ${cfg.startMixture.clip} widths of each` : ''}${cfg.bounds ? `; chains kept within the rows' range ± ${100 * BOUNDS_MARGIN} %` : ''}`
    : `start uniform on μ ± ${f(cfg.initScale * s)}`;
  return `${head}; ${sm}, Langevin ${cfg.sampleSteps} steps, α ${f(cfg.stepSize * s * s)} → ${f(cfg.stepSizeEnd * s * s)}, ${start}`;
}

/**
 * The one-line note for a single-σ objective on data in separated groups (null otherwise): its
 * score does not know the groups' relative weights, so the chains start in each group in proportion
 * to its share of the training rows — counted, not learned.
 */
export function fitAdvice(cfg: ToyConfig): string | null {
  const g = cfg.fit?.groups ?? 0;
  if (cfg.loss === 'ncsn' || g < 2) return null;
  const f = (v: number) => (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
  const how = cfg.init === 'mixture' ? "so the chains start in each group (in its cores) in proportion to its share of the training rows (the weights are counted, the shapes learned)" : "so Langevin keeps the share each group's basin gets from the chains' start";
  return `note: the data fall into ${g} groups separated by gaps wider than ${f(cfg.fit!.gap ?? 0)} (≥ ${GAP_SIGMAS}σ); a score learned at one σ (${cfg.loss}) cannot tell their relative weights, ${how} — to learn them, train --loss ncsn (annealed Langevin from σ_max)`;
}

/** Rows in data units → model units (a copy). Identity without a norm. */
export function toModelUnits(rows: Float32Array, norm: ToyNorm | undefined): Float32Array {
  if (!norm) return rows;
  const d = norm.center.length;
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = (rows[i] - norm.center[i % d]) / norm.scale;
  return out;
}

/** Rows in model units → data units, in place. */
export function toDataUnits(rows: Float32Array, norm: ToyNorm | undefined): Float32Array {
  if (!norm) return rows;
  const d = norm.center.length;
  for (let i = 0; i < rows.length; i++) rows[i] = norm.center[i % d] + norm.scale * rows[i];
  return rows;
}
