// The discrete noise processes (NCSN's geometric σ, DDPM's linear and cosine β) and the model-output
// adapter, against float64 formulas written here from the papers: DDPM's ᾱ as a running product of
// 1 − β, Nichol & Dhariwal's ᾱ(t) = f(t)/f(0), NCSN's geometric levels, NCSNv2's rules for γ and ε;
// and properties that tie the pieces together (composing the forward steps gives the marginal, the
// posterior variance is the Gaussian conditional's). CPU only.
import { describe, it, expect } from 'vitest';
import { rng, TEST_SEED } from '../kernels-tests/helpers.js';
import {
  DdpmProcess, NcsnProcess, buildProcess, processTables, ncsnv2Levels, maxPairwiseDistance, linearBetas, cosineBetas,
  type DiscreteProcess,
} from '../src/score/processes/index.js';
import { adapt, PREDICTIONS } from '../src/score/adapter.js';
import { annealedPlan, ncsnv2StepSize } from '../src/score/sampling/index.js';
import { ddpmRef } from './score_refs.js';

const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();
const randInt = (lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1)); // inclusive
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

/** Standard normal CDF by Simpson's rule on the density (independent of the code's erf approximation). */
function Phi(x: number): number {
  const a = Math.min(Math.abs(x), 12), n = 6000, h = a / n;
  const phi = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
  let s = phi(0) + phi(a);
  for (let k = 1; k < n; k++) s += (k % 2 ? 4 : 2) * phi(k * h);
  const half = (s * h) / 3;
  return x >= 0 ? 0.5 + half : 0.5 - half;
}

describe(`noise processes (seed ${TEST_SEED})`, () => {
  const Ts = [1000, randInt(2, 400)];

  it('DDPM linear: β from 1e-4 to 0.02, ᾱ the running product of 1 − β, marginal (√ᾱ, √(1 − ᾱ)), conditioning t − 1', () => {
    for (const T of Ts) {
      const p = new DdpmProcess('linear', T);
      const ref = ddpmRef('linear', T);
      expect(p.N).toBe(T);
      expect(p.beta(0)).toBeCloseTo(1e-4, 15);
      expect(rel(p.beta(T - 1), 0.02)).toBeLessThan(1e-14);
      for (let i = 0; i < T; i++) {
        expect(rel(p.beta(i), ref.beta[i])).toBeLessThan(1e-12);
        const m = p.marginal(i);
        expect(rel(m.mean, Math.sqrt(ref.abar[i]))).toBeLessThan(1e-12);
        expect(rel(m.std, Math.sqrt(1 - ref.abar[i]))).toBeLessThan(1e-10);
        expect(p.conditioning(i)).toBe(i);
      }
      expect(p.priorStd).toBe(1);
      // the paper's T = 1000 chain ends at (almost) pure noise: ᾱ_T ≈ 4e-5
      if (T === 1000) expect(p.alphaBar(T - 1)).toBeLessThan(1e-4);
    }
    // other β ends are honoured
    const b0 = uni(1e-5, 1e-3), b1 = uni(0.01, 0.05);
    const p = new DdpmProcess('linear', 300, b0, b1), ref = ddpmRef('linear', 300, b0, b1);
    for (let i = 0; i < 300; i++) expect(rel(p.alphaBar(i), ref.abar[i])).toBeLessThan(1e-12);
  });

  it("DDPM cosine: ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), s = 0.008, up to the cap β ≤ 0.999", () => {
    for (const T of Ts) {
      const p = new DdpmProcess('cosine', T);
      const { f, beta } = ddpmRef('cosine', T);
      let capped = false;
      for (let i = 0; i < T; i++) {
        const raw = 1 - f(i + 1) / f(i);
        if (raw >= 0.999) {
          capped = true;
          expect(p.beta(i)).toBe(0.999);
        } else {
          expect(rel(p.beta(i), raw)).toBeLessThan(1e-9);
        }
        expect(rel(p.beta(i), beta[i])).toBeLessThan(1e-12);
        // before any cap, the running product telescopes to f(t)/f(0)
        if (!capped) expect(rel(p.alphaBar(i), f(i + 1) / f(0))).toBeLessThan(1e-9);
      }
      // f(T) = cos²(π/2) = 0: the last β is capped, so the chain ends at ᾱ_T ≈ 0
      expect(p.beta(T - 1)).toBe(0.999);
      expect(p.alphaBar(T - 1)).toBeLessThan(1.0001e-3 * p.alphaBar(T - 2));
    }
  });

  it('composing the forward steps gives the marginal: m_i = Π a_k, s_i² = Σ_k g_k² Π_{j>k} a_j² (DDPM both schedules, NCSN)', () => {
    const procs: DiscreteProcess[] = [
      new DdpmProcess('linear', Ts[1]), new DdpmProcess('cosine', Ts[1]), new DdpmProcess('linear'), new DdpmProcess('cosine'),
      new NcsnProcess(uni(5, 50), uni(0.005, 0.1), randInt(2, 300)),
    ];
    for (const p of procs) {
      for (let rep = 0; rep < 20; rep++) {
        const i = rep === 0 ? 0 : rep === 1 ? p.N - 1 : randInt(0, p.N - 1);
        // x_i = a_i·x_{i−1} + g_i·z from x_{−1} = x₀: mean coefficient and variance, step by step
        let mean = 1, v = 0;
        for (let k = 0; k <= i; k++) {
          const { a, g } = p.discretize(k);
          mean *= a;
          v = a * a * v + g * g;
        }
        const m = p.marginal(i);
        expect(rel(m.mean, mean), `${p.name} i=${i}`).toBeLessThan(1e-10);
        expect(rel(m.std * m.std, v), `${p.name} i=${i}`).toBeLessThan(1e-10);
      }
    }
  });

  it('DDPM posterior variance β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t equals the Gaussian conditional Var(x_{t−1} | x_t, x₀)', () => {
    for (const p of [new DdpmProcess('linear'), new DdpmProcess('cosine', Ts[1])]) {
      expect(p.posteriorVariance(0)).toBe(0); // ᾱ_0 = 1: x₀ given, nothing left
      for (let rep = 0; rep < 30; rep++) {
        const i = randInt(1, p.N - 1);
        // x_{t−1} | x₀ ~ N(·, s²_{t−1}), x_t = a·x_{t−1} + g·z: posterior precision 1/s²_{t−1} + a²/g²
        const sp2 = p.marginal(i - 1).std ** 2, { a, g } = p.discretize(i);
        const want = 1 / (1 / sp2 + (a * a) / (g * g));
        expect(rel(p.posteriorVariance(i), want)).toBeLessThan(1e-9);
        const ref = ddpmRef(p.schedule, p.T);
        expect(rel(p.posteriorVariance(i), ((1 - ref.abar[i - 1]) / (1 - ref.abar[i])) * ref.beta[i])).toBeLessThan(1e-9);
      }
    }
  });

  it('NCSN: σ geometric, increasing in i, σ_0 = σ_min, σ_{N−1} = σ_max, constant ratio (σ_max/σ_min)^{1/(N−1)}; marginal (1, σ_i)', () => {
    for (let rep = 0; rep < 5; rep++) {
      const sMax = uni(1, 100), sMin = uni(1e-3, 0.5), L = randInt(2, 500);
      const p = new NcsnProcess(sMax, sMin, L);
      expect(p.N).toBe(L);
      expect(rel(p.sigma(0), sMin)).toBeLessThan(1e-12);
      expect(rel(p.sigma(L - 1), sMax)).toBeLessThan(1e-12);
      const ratio = (sMax / sMin) ** (1 / (L - 1));
      for (let i = 1; i < L; i++) expect(rel(p.sigma(i) / p.sigma(i - 1), ratio)).toBeLessThan(1e-10);
      for (let i = 0; i < L; i++) {
        expect(rel(p.sigma(i), sMin * ratio ** i)).toBeLessThan(1e-10);
        expect(p.marginal(i)).toEqual({ mean: 1, std: p.sigma(i) });
        expect(p.conditioning(i)).toBe(p.sigma(i));
      }
      expect(p.priorStd).toBe(sMax);
      expect(p.descending()).toEqual(Array.from(p.sigmas).reverse());
    }
  });

  it('priorLogProb is the log density of N(0, priorStd²·I); processTables are the float32 columns of the marginals', () => {
    for (const p of [new DdpmProcess('linear', 50), new NcsnProcess(uni(2, 60), 0.01, 20)] as DiscreteProcess[]) {
      const D = randInt(1, 50);
      const x = Array.from({ length: D }, () => uni(-3, 3) * p.priorStd);
      let want = 0;
      for (const v of x) want += -0.5 * (v / p.priorStd) ** 2 - Math.log(p.priorStd) - 0.5 * Math.log(2 * Math.PI);
      const sq = x.reduce((s, v) => s + v * v, 0);
      expect(rel(p.priorLogProb(sq, D), want)).toBeLessThan(1e-12);
      const t = processTables(p);
      for (let i = 0; i < p.N; i++) {
        expect(t.mean[i]).toBe(Math.fround(p.marginal(i).mean));
        expect(t.std[i]).toBe(Math.fround(p.marginal(i).std));
        expect(t.cond[i]).toBe(Math.fround(p.conditioning(i)));
      }
    }
  });

  it('describe() → buildProcess() rebuilds the same process; bad arguments and indices throw', () => {
    for (const p of [new DdpmProcess('cosine', 77), new DdpmProcess('linear', 100, 2e-4, 0.03), new NcsnProcess(20, 0.02, 33)] as DiscreteProcess[]) {
      const q = buildProcess(JSON.parse(JSON.stringify(p.describe())));
      expect(q.N).toBe(p.N);
      for (let i = 0; i < p.N; i++) expect(q.marginal(i)).toEqual(p.marginal(i));
      expect(() => p.marginal(p.N)).toThrow(RangeError);
      expect(() => p.discretize(1.5)).toThrow(RangeError);
      expect(() => p.conditioning(-1)).toThrow(RangeError);
    }
    expect(() => buildProcess({ kind: 'edm' } as never)).toThrow(/unknown noise process 'edm'.*ncsn, ddpm, ve, vp, subvp/);
    expect(() => new DdpmProcess('linear', 1)).toThrow(/T must be/);
    expect(() => linearBetas(10, 0.02, 1e-4)).toThrow(/β_start ≤ β_end/);
    expect(() => new NcsnProcess(0.01, 1, 10)).toThrow();
    expect(cosineBetas(10).length).toBe(10);
  });

  it('NCSNv2 technique 2: γ solves Φ(√(2D)(γ−1) + 3γ) − Φ(√(2D)(γ−1) − 3γ) = ½, L = 1 + ⌈log(σ_max/σ_min)/log γ⌉', () => {
    for (const D of [16, 784, 3072, randInt(16, 20000)]) {
      const dist = uni(1, 100), sMin = uni(0.005, 0.05);
      const { sigmaMax, sigmaMin, levels, gamma } = ncsnv2Levels(dist, D, sMin);
      const c = (g: number) => Phi(Math.sqrt(2 * D) * (g - 1) + 3 * g) - Phi(Math.sqrt(2 * D) * (g - 1) - 3 * g);
      expect(gamma).toBeGreaterThan(1);
      expect(Math.abs(c(gamma) - 0.5), `D=${D} γ=${gamma}`).toBeLessThan(2e-6);
      // c falls through ½ at γ (a root, not an end of the search bracket)
      expect(c(1 + (gamma - 1) * 0.99)).toBeGreaterThan(0.5);
      expect(c(1 + (gamma - 1) * 1.01)).toBeLessThan(0.5);
      expect(sigmaMax).toBe(dist);
      expect(sigmaMin).toBe(sMin);
      // the fewest levels whose ratio does not exceed γ
      expect(sMin * gamma ** (levels - 1)).toBeGreaterThanOrEqual(dist * (1 - 1e-12));
      expect(sMin * gamma ** (levels - 2)).toBeLessThan(dist);
    }
  });

  it('maxPairwiseDistance finds a planted farthest pair, and looks only at the first n rows when told', () => {
    const dim = randInt(1, 40), n = randInt(5, 60);
    const data = new Float64Array(n * dim).map(() => r.next()); // inside the unit cube: distances ≤ √dim
    const R = 10 * Math.sqrt(dim);
    const e = Array.from({ length: dim }, () => uni(-1, 1));
    const ne = Math.hypot(...e);
    const [i, j] = [randInt(0, n - 2), n - 1];
    for (let k = 0; k < dim; k++) {
      data[i * dim + k] = 0.5 + (R * e[k]) / ne;
      data[j * dim + k] = 0.5 - (R * e[k]) / ne;
    }
    expect(rel(maxPairwiseDistance(data, dim), 2 * R)).toBeLessThan(1e-12);
    // without the last row, the planted point's farthest partner is an in-cube point at distance ≈ R
    const sub = maxPairwiseDistance(data, dim, n - 1);
    expect(sub).toBeGreaterThan(R - Math.sqrt(dim));
    expect(sub).toBeLessThan(R + Math.sqrt(dim));
  });
});

describe(`NCSNv2 technique 4: the step size ε (seed ${TEST_SEED})`, () => {
  // NCSNv2 (Song & Ermon 2020), Prop. 3: at level σ_i of a point-mass data set, starting from
  // variance γ²σ_i², T Langevin steps end with variance s_T² where (u = ε/σ_L², NCSNv2's ε)
  //   s_T²/σ_i² = (1 − u)^{2T}·(γ² − 2ε/(σ_L² − σ_L²(1 − u)²)) + 2ε/(σ_L² − σ_L²(1 − u)²)   (eq. 6)
  // and technique 4 picks ε making it "maximally close to 1". It is a convex combination of γ² > 1 and
  // 2/(2 − u) ≥ 1, so it never equals 1: ε is its minimiser. NCSNv2's chain is
  //   x ← x + ε_i·s + √(2ε_i)·z,  ε_i = ε·σ_i²/σ_L²   (ermongroup/ncsnv2 models/__init__.py),
  // NCSN's Algorithm 1 (this repo's annealedPlan) is x ← x + (α_i/2)·s + √α_i·z, α_i = ε·σ_i²/σ_L²:
  // the same chain with ε_NCSN = 2·ε_NCSNv2.
  const eq6 = (eV2: number, gamma: number, sL: number, T: number) => {
    const u = eV2 / (sL * sL), k = (2 * eV2) / (sL * sL - sL * sL * (1 - u) ** 2);
    return (1 - u) ** (2 * T) * (gamma * gamma - k) + k;
  };
  /** The variance ratio after T steps of annealedPlan's own update at one level (point mass at 0, exact score −x/σ²). */
  const planRatio = (eps: number, gamma: number, sL: number, T: number) => {
    const levels = 3, proc = new NcsnProcess(sL * gamma ** (levels - 1), sL, levels);
    const plan = annealedPlan(proc, { eps, stepsPerLevel: T, denoise: false });
    const i = 1, si = proc.sigma(i); // a middle level, entered from σ_{i+1} = γσ_i
    let v = (gamma * si) ** 2;
    for (const s of plan.steps.filter((st) => st.index === i)) {
      const c = s.coef, A = c.a + c.b * (c.p + c.q * (-1 / (si * si))); // out = score = −x/σ_i²
      v = A * A * v + c.c * c.c;
    }
    return v / (si * si);
  };
  const cases = [
    { gamma: (50 / 0.01) ** (1 / 231), sL: 0.01, T: 5 },
    { gamma: 1 + uni(0.01, 0.3), sL: uni(0.005, 0.05), T: randInt(1, 20) },
  ];

  it("annealedPlan's chain at one level follows eq. 6 with ε_NCSNv2 = ε/2 (the two conventions)", () => {
    for (const { gamma, sL, T } of cases) {
      for (const e of [0.01, 0.1, 0.5].map((u) => u * sL * sL)) expect(rel(planRatio(e, gamma, sL, T), eq6(e / 2, gamma, sL, T))).toBeLessThan(1e-9);
    }
  });

  it('ncsnv2StepSize minimises the chain\'s end variance ratio (eq. 6) over ε, as annealedPlan uses it', () => {
    for (const { gamma, sL, T } of cases) {
      const eps = ncsnv2StepSize(gamma, sL, T);
      expect(eps).toBeGreaterThan(0);
      const at = planRatio(eps, gamma, sL, T);
      // a grid over 6 decades of ε: nothing is closer to 1
      let best = Infinity, bestE = NaN;
      for (let k = 0; k <= 6000; k++) {
        const e = sL * sL * 2 * 10 ** (-6 + k / 1000);
        const v = planRatio(e, gamma, sL, T);
        if (Math.abs(v - 1) < best) [best, bestE] = [Math.abs(v - 1), e];
      }
      expect(Math.abs(at - 1), `γ=${gamma} σ_L=${sL} T=${T}: ε=${eps} gives ${at}, ε=${bestE} gives ${1 + best}`).toBeLessThanOrEqual(best * (1 + 1e-4) + 1e-12);
    }
  });

  it("matches NCSNv2's published step sizes (CIFAR-10: σ 50 → 0.01, 232 levels, T = 5, ε = 6.2e-6; CelebA: 90 → 0.01, 500, 5, 3.3e-6)", () => {
    for (const { sMax, L, eV2 } of [{ sMax: 50, L: 232, eV2: 6.2e-6 }, { sMax: 90, L: 500, eV2: 3.3e-6 }]) {
      const proc = new NcsnProcess(sMax, 0.01, L);
      const eps = ncsnv2StepSize(proc.sigmas[1] / proc.sigmas[0], 0.01, 5);
      // in annealedPlan's convention the same chain needs ε = 2·ε_NCSNv2; the configs give 2 digits
      expect(rel(eps, 2 * eV2), `ε = ${eps}`).toBeLessThan(0.03);
      // and the plan's first step is NCSNv2's x + ε_i·s + √(2ε_i)·z at σ_max
      const s0 = annealedPlan(proc, { eps, stepsPerLevel: 5 }).steps[0].coef;
      const ei = eV2 * (sMax / 0.01) ** 2;
      expect(rel(s0.b, ei)).toBeLessThan(0.03);
      expect(rel(s0.c, Math.sqrt(2 * ei))).toBeLessThan(0.03);
    }
  });
});

describe(`model-output adapter (seed ${TEST_SEED})`, () => {
  it('each prediction kind fed its exact target recovers the score, ε and x₀ (x = m·x₀ + s·z)', () => {
    for (let rep = 0; rep < 200; rep++) {
      // DDPM-like (m² + s² = 1), NCSN-like (m = 1, s up to 50), and arbitrary (m, s)
      const kind = rep % 3;
      const ab = r.next();
      const m = kind === 0 ? Math.sqrt(ab) : kind === 1 ? 1 : uni(0.01, 2);
      const s = kind === 0 ? Math.sqrt(1 - ab) : kind === 1 ? uni(0.005, 50) : uni(0.01, 2);
      if (!(s > 1e-6 && m > 1e-6)) continue;
      const x0 = uni(-2, 2), z = r.normal(1)[0];
      const x = m * x0 + s * z;
      const truth = { score: -z / s, eps: z, x0 };
      const target = { score: -z / s, eps: z, x0, v: m * z - s * x0 };
      for (const pred of PREDICTIONS) {
        const ad = adapt(pred, { mean: m, std: s });
        for (const q of ['score', 'eps', 'x0'] as const) {
          const got = ad[q].cx * x + ad[q].co * target[pred];
          // judged against the size of the two terms (the result can cancel to near zero)
          const size = Math.abs(ad[q].cx * x) + Math.abs(ad[q].co * target[pred]) + Math.abs(truth[q]);
          expect(Math.abs(got - truth[q]) / size, `${pred} → ${q}, m=${m} s=${s}`).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('refuses s ≤ 0 and unknown predictions', () => {
    expect(() => adapt('eps', { mean: 1, std: 0 })).toThrow(/std must be > 0/);
    expect(() => adapt('logits' as never, { mean: 1, std: 1 })).toThrow(/unknown model prediction 'logits'.*score, eps, x0, v/);
  });
});
