// The samplers' plans (per-step coefficients of x̂₀ = p·x + q·out; [clip]; x ← a·x + b·x̂₀ + c·z),
// applied in float64 to random x, model outputs and noise, against the papers' updates written out
// here: DDPM's ancestral step (Ho et al. 2020, Alg. 2) and diffusers' clipped DDPMScheduler.step,
// DDIM (Song et al. 2021, eqs. 12 and 16), score_sde's VE ancestral predictor, NCSN's annealed
// Langevin dynamics (Song & Ermon 2019, Alg. 1); diffusers' timestep spacings (numpy rounding). Then
// the plans' exact output moments on Gaussian data with the exact model converge to the data as the
// step count grows. CPU only.
import { describe, it, expect } from 'vitest';
import { rng, TEST_SEED } from '../kernels-tests/helpers.js';
import { DdpmProcess, NcsnProcess, type DiscreteProcess, type Prediction } from '../src/score/processes/index.js';
import { SdeGrid } from '../src/score/sde/grid.js';
import { VeSde } from '../src/score/sde/ve.js';
import { ancestralPlan, ddimPlan, ddimTimesteps, annealedPlan, makePlan, SPACINGS, type SamplerPlan, type Spacing } from '../src/score/sampling/index.js';
import type { UpdateCoef } from '../src/tensor/ops/affine_update.js';
import { ddpmRef, roundHalfEven, planMoments, exactEps, exactScore } from './score_refs.js';

const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();
const randInt = (lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1));
const normal = () => r.normal(1)[0];
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

/** The fused update in float64; returns the result and the size of its terms (to judge cancellation). */
function apply(c: UpdateCoef, x: number, out: number, z: number, clip = false): { y: number; size: number } {
  let x0 = c.p * x + c.q * out;
  const x0size = Math.abs(c.p * x) + Math.abs(c.q * out);
  if (clip) x0 = Math.min(Math.max(x0, c.lo!), c.hi!);
  return { y: c.a * x + c.b * x0 + c.c * z, size: Math.abs(c.a * x) + Math.abs(c.b) * x0size + Math.abs(c.c * z) };
}

/** |got − want| against the size of the terms of both computations. */
function expectClose(got: { y: number; size: number }, want: number, wantSize: number, what: string, tol = 1e-9) {
  expect(Math.abs(got.y - want) / Math.max(got.size, wantSize, 1e-300), `${what}: got ${got.y}, want ${want}`).toBeLessThan(tol);
}

/** The same process with another model parametrisation (methods and tables shared). */
function withPrediction<P extends DiscreteProcess>(p: P, prediction: Prediction): P {
  return Object.assign(Object.create(p), { prediction }) as P;
}

const ddpms = () => [new DdpmProcess('linear'), new DdpmProcess('cosine'), new DdpmProcess('linear', randInt(2, 300)), new DdpmProcess('cosine', randInt(2, 300))];

describe(`DDPM ancestral sampling (seed ${TEST_SEED})`, () => {
  it("every step is Ho et al.'s Alg. 2: x_{t−1} = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t + σ_t·z, σ_t² = β̃_t or β_t, no noise at t = 1", () => {
    for (const p of ddpms()) {
      const { beta, abar } = ddpmRef(p.schedule, p.T);
      for (const variance of ['posterior', 'beta'] as const) {
        const plan = ancestralPlan(p, { variance });
        expect(plan.steps.length).toBe(p.T);
        expect(plan.init).toEqual({ kind: 'normal', std: 1 });
        expect(plan.clip).toBe(false);
        plan.steps.forEach((s, k) => {
          const i = p.T - 1 - k, t = i + 1;
          expect(s.index).toBe(i);
          expect(s.cond).toBe(i); // diffusers' timestep t − 1
          const ab = abar[i], abPrev = i > 0 ? abar[i - 1] : 1, b = beta[i];
          const sigma2 = t === 1 ? 0 : variance === 'posterior' ? ((1 - abPrev) / (1 - ab)) * b : b;
          expect(Math.abs(s.coef.c * s.coef.c - sigma2)).toBeLessThanOrEqual(1e-12 * b);
          for (let e = 0; e < 4; e++) {
            const x = normal() * uni(0.1, 3), eps = normal(), z = normal();
            const want = (x - (b / Math.sqrt(1 - ab)) * eps) / Math.sqrt(1 - b) + Math.sqrt(sigma2) * z;
            const size = (Math.abs(x) + Math.abs((b / Math.sqrt(1 - ab)) * eps)) / Math.sqrt(1 - b) + Math.abs(Math.sqrt(sigma2) * z);
            expectClose(apply(s.coef, x, eps, z), want, size, `${p.schedule} T=${p.T} ${variance} t=${t}`);
          }
        });
      }
    }
  });

  it("clipped: diffusers' DDPMScheduler.step (x̂₀ = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t clamped to [−1, 1], then the posterior mean)", () => {
    for (const p of ddpms()) {
      const { beta, abar } = ddpmRef(p.schedule, p.T);
      for (const variance of ['posterior', 'beta'] as const) {
        const plan = ancestralPlan(p, { variance, clip: true });
        expect(plan.clip).toBe(true);
        let clipped = 0;
        plan.steps.forEach((s) => {
          const i = s.index!;
          expect([s.coef.lo, s.coef.hi]).toEqual([-1, 1]);
          const ab = abar[i], abPrev = i > 0 ? abar[i - 1] : 1, b = 1 - ab / abPrev; // diffusers' current_beta_t
          const cx0 = (Math.sqrt(abPrev) * b) / (1 - ab), cxt = (Math.sqrt(1 - b) * (1 - abPrev)) / (1 - ab);
          const sigma2 = i === 0 ? 0 : variance === 'posterior' ? ((1 - abPrev) / (1 - ab)) * b : b; // fixed_small / fixed_large
          for (let e = 0; e < 4; e++) {
            const x = uni(-3, 3), eps = normal() * 2, z = normal();
            let x0 = (x - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
            if (Math.abs(x0) > 1) clipped++;
            x0 = Math.min(1, Math.max(-1, x0));
            const want = cx0 * x0 + cxt * x + Math.sqrt(sigma2) * z;
            expectClose(apply(s.coef, x, eps, z, true), want, Math.abs(cx0 * x0) + Math.abs(cxt * x) + Math.abs(Math.sqrt(sigma2) * z), `clipped ${p.schedule} T=${p.T} ${variance} i=${i}`);
          }
        });
        expect(clipped).toBeGreaterThan(0); // the case was exercised
      }
    }
  });

  it('the update is the same for every model parametrisation fed its exact target (score, ε, x₀, v)', () => {
    for (const p of [new DdpmProcess('linear', randInt(2, 200)), new DdpmProcess('cosine', randInt(2, 200)), new NcsnProcess(uni(5, 50), uni(0.005, 0.05), randInt(2, 100))] as DiscreteProcess[]) {
      for (const planOf of [(q: DiscreteProcess) => ancestralPlan(q), (q: DiscreteProcess) => ddimPlan(q, { steps: Math.min(7, q.N), eta: 0.5 })]) {
        const plans = Object.fromEntries((['score', 'eps', 'x0', 'v'] as const).map((k) => [k, planOf(withPrediction(p, k))])) as Record<Prediction, SamplerPlan>;
        plans.eps.steps.forEach((s, k) => {
          const { mean: m, std: sd } = p.marginal(s.index!);
          const x0 = uni(-1, 1), z = normal(), noise = normal(), x = m * x0 + sd * z;
          const target: Record<Prediction, number> = { score: -z / sd, eps: z, x0, v: m * z - sd * x0 };
          const ref = apply(s.coef, x, z, noise);
          for (const kind of ['score', 'x0', 'v'] as const) {
            expectClose(apply(plans[kind].steps[k].coef, x, target[kind], noise), ref.y, ref.size, `${p.name} ${kind} step ${k}`);
          }
        });
      }
    }
  });
});

describe(`VE ancestral sampling on NCSN (seed ${TEST_SEED})`, () => {
  it("every step is score_sde's AncestralSamplingPredictor: x + (σ_i² − σ_{i−1}²)·s + √(σ_{i−1}²(σ_i² − σ_{i−1}²)/σ_i²)·z, σ_{−1} = 0", () => {
    for (let rep = 0; rep < 3; rep++) {
      const sMax = uni(1, 50), sMin = uni(0.001, 0.1), L = randInt(2, 300);
      const p = new NcsnProcess(sMax, sMin, L);
      const sig = (i: number) => (i < 0 ? 0 : sMin * (sMax / sMin) ** (i / (L - 1)));
      const plan = ancestralPlan(p);
      expect(plan.init).toEqual({ kind: 'normal', std: sMax });
      expect(plan.steps.length).toBe(L);
      plan.steps.forEach((s, k) => {
        const i = L - 1 - k, sg = sig(i), adj = sig(i - 1);
        expect(s.index).toBe(i);
        expect(rel(s.cond, sg)).toBeLessThan(1e-12);
        for (let e = 0; e < 4; e++) {
          const x = normal() * (sg + 1), score = normal() / sg, z = normal();
          const std = Math.sqrt((adj * adj * (sg * sg - adj * adj)) / (sg * sg));
          const want = x + score * (sg * sg - adj * adj) + std * z;
          expectClose(apply(s.coef, x, score, z), want, Math.abs(x) + Math.abs(score * (sg * sg - adj * adj)) + Math.abs(std * z), `NCSN L=${L} i=${i}`);
        }
      });
    }
  });
});

describe(`DDIM (seed ${TEST_SEED})`, () => {
  /** diffusers' set_timesteps (steps_offset 0), with numpy's arithmetic and half-to-even rounding. */
  function diffusersTimesteps(N: number, S: number, spacing: Spacing): number[] {
    let ts: number[];
    if (spacing === 'leading') {
      const ratio = Math.floor(N / S);
      ts = Array.from({ length: S }, (_, k) => k * ratio);
    } else if (spacing === 'trailing') {
      // np.round(np.arange(N, 0, −N/S)) − 1; numpy's arange fills start + k·delta with
      // delta = (start + step) − start, so an exact half can come out a rounding error either side
      const ratio = N / S, delta = N - ratio - N;
      ts = Array.from({ length: S }, (_, k) => roundHalfEven(k === 1 ? N - ratio : N + k * delta) - 1).reverse();
    } else {
      const step = (N - 1) / (S - 1); // np.linspace(0, N − 1, S).round(): y_k = k·step, the last exactly N − 1
      ts = Array.from({ length: S }, (_, k) => (S === 1 ? 0 : k === S - 1 ? N - 1 : roundHalfEven(k * step)));
    }
    return ts.reverse();
  }

  it("ddimTimesteps: diffusers' examples (N = 1000, S = 50)", () => {
    const lead = ddimTimesteps(1000, 50, 'leading'), trail = ddimTimesteps(1000, 50, 'trailing'), lin = ddimTimesteps(1000, 50, 'linspace');
    expect(lead).toEqual(Array.from({ length: 50 }, (_, k) => 980 - 20 * k)); // [980, 960, …, 0]
    expect(trail).toEqual(Array.from({ length: 50 }, (_, k) => 999 - 20 * k)); // [999, 979, …, 19]
    expect(lin[0]).toBe(999);
    expect(lin[49]).toBe(0);
    expect(lin).toEqual(diffusersTimesteps(1000, 50, 'linspace'));
    expect(ddimTimesteps(1000, 1000, 'leading')).toEqual(Array.from({ length: 1000 }, (_, k) => 999 - k));
  });

  it("ddimTimesteps rounds halves to even as numpy does (trailing N = 1000, S = 16; linspace N = 1000, S = 7; N = 6, S = 3)", () => {
    // np.round(np.arange(1000, 0, -62.5)) - 1 → [999, 937, 874, 811, 749, 687, 624, 561, ...]: 812.5 rounds to 812
    expect(ddimTimesteps(1000, 16, 'trailing').slice(0, 8)).toEqual([999, 937, 874, 811, 749, 687, 624, 561]);
    // np.linspace(0, 999, 7).round() → [0, 166, 333, 500, 666, 832, 999]: 166.5 → 166, 832.5 → 832
    expect(ddimTimesteps(1000, 7, 'linspace')).toEqual([999, 832, 666, 500, 333, 166, 0]);
    // np.linspace(0, 5, 3).round() → [0, 2, 5]
    expect(ddimTimesteps(6, 3, 'linspace')).toEqual([5, 2, 0]);
  });

  it("ddimTimesteps for random (N, S) and each spacing equals diffusers' set_timesteps", () => {
    for (let rep = 0; rep < 300; rep++) {
      const N = rep < 100 ? 1000 : randInt(1, 2000), S = randInt(1, N);
      for (const spacing of SPACINGS) {
        const ts = ddimTimesteps(N, S, spacing);
        expect(ts, `N=${N} S=${S} ${spacing}`).toEqual(diffusersTimesteps(N, S, spacing));
      }
    }
    expect(() => ddimTimesteps(100, 0)).toThrow(/steps must be an integer in 1..100/);
    expect(() => ddimTimesteps(100, 101)).toThrow(/steps must be/);
    expect(() => ddimTimesteps(100, 10, 'quadratic' as Spacing)).toThrow(/unknown timestep spacing 'quadratic'/);
  });

  it('every step is eq. 12 with σ from η by eq. 16; after the last index ᾱ = 1 (the chain lands on x̂₀)', () => {
    for (const p of ddpms()) {
      const { abar } = ddpmRef(p.schedule, p.T);
      for (const spacing of SPACINGS) {
        for (const eta of [0, 1, uni(0, 1)]) {
          const S = randInt(1, Math.min(p.T, 100));
          const plan = ddimPlan(p, { steps: S, eta, spacing });
          const ts = ddimTimesteps(p.T, S, spacing);
          expect(plan.steps.map((s) => s.index)).toEqual(ts);
          expect(plan.steps.map((s) => s.cond)).toEqual(ts);
          // x_t = √ᾱ·x₀ + √(1 − ᾱ)·ε has unit variance at every index when x₀ does (as the prior assumes);
          // 1e-8: the prior's v = (1 − (1 − ᾱ_T))/ᾱ_T loses digits when ᾱ_T is tiny (cosine: ~1e-7)
          expect(plan.init.kind).toBe('normal');
          expect(Math.abs((plan.init.kind === 'normal' ? plan.init.std : 0) - 1)).toBeLessThan(1e-8);
          plan.steps.forEach((s, k) => {
            const ab = abar[ts[k]], abPrev = k + 1 < S ? abar[ts[k + 1]] : 1;
            const sigma = eta * Math.sqrt((1 - abPrev) / (1 - ab)) * Math.sqrt(1 - ab / abPrev);
            expect(Math.abs(s.coef.c - sigma)).toBeLessThanOrEqual(1e-9 * Math.max(sigma, 1e-3));
            for (let e = 0; e < 3; e++) {
              const x = normal() * uni(0.1, 3), eps = normal(), z = normal();
              const x0 = (x - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
              const dir = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
              const want = Math.sqrt(abPrev) * x0 + dir * eps + sigma * z;
              const size = Math.sqrt(abPrev) * (Math.abs(x) + Math.abs(Math.sqrt(1 - ab) * eps)) / Math.sqrt(ab) + Math.abs(dir * eps) + Math.abs(sigma * z);
              expectClose(apply(s.coef, x, eps, z), want, size, `${p.schedule} T=${p.T} S=${S} ${spacing} η=${eta} step ${k}`);
            }
          });
          const last = plan.steps[S - 1].coef;
          expect(last.c).toBe(0);
          expect(Math.abs(last.a)).toBeLessThan(1e-12);
          expect(last.b).toBe(1);
        }
      }
    }
  });

  it("clipped: diffusers' DDIMScheduler.step with clip_sample and use_clipped_model_output (ε re-derived from the clipped x̂₀)", () => {
    for (const p of ddpms().slice(0, 2)) {
      const { abar } = ddpmRef(p.schedule, p.T);
      const S = randInt(2, 60), eta = uni(0, 1);
      const plan = ddimPlan(p, { steps: S, eta, clip: true });
      expect(plan.clip).toBe(true);
      const ts = ddimTimesteps(p.T, S);
      let clipped = 0;
      plan.steps.forEach((s, k) => {
        expect([s.coef.lo, s.coef.hi]).toEqual([-1, 1]);
        const ab = abar[ts[k]], abPrev = k + 1 < S ? abar[ts[k + 1]] : 1;
        const sigma = eta * Math.sqrt((1 - abPrev) / (1 - ab)) * Math.sqrt(1 - ab / abPrev);
        for (let e = 0; e < 4; e++) {
          const x = uni(-3, 3), eps = 2 * normal(), z = normal();
          let x0 = (x - Math.sqrt(1 - ab) * eps) / Math.sqrt(ab);
          if (Math.abs(x0) > 1) clipped++;
          x0 = Math.min(1, Math.max(-1, x0));
          const epsC = (x - Math.sqrt(ab) * x0) / Math.sqrt(1 - ab);
          const dir = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma));
          const want = Math.sqrt(abPrev) * x0 + dir * epsC + sigma * z;
          const size = Math.abs(Math.sqrt(abPrev) * x0) + dir * (Math.abs(x) + Math.abs(Math.sqrt(ab) * x0)) / Math.sqrt(1 - ab) + Math.abs(sigma * z);
          expectClose(apply(s.coef, x, eps, z, true), want, size, `clipped DDIM ${p.schedule} step ${k}`);
        }
      });
      expect(clipped).toBeGreaterThan(0);
    }
  });

  it('η = 1 with S = N is the ancestral sampler with the posterior variance β̃ (step for step)', () => {
    for (const p of [...ddpms(), new NcsnProcess(uni(5, 50), uni(0.005, 0.05), randInt(2, 200))] as DiscreteProcess[]) {
      const dd = ddimPlan(p, { steps: p.N, eta: 1 }), an = ancestralPlan(p, { variance: 'posterior' });
      expect(dd.steps.length).toBe(an.steps.length);
      dd.steps.forEach((s, k) => {
        const t = an.steps[k];
        expect(s.index).toBe(t.index);
        expect(s.cond).toBe(t.cond);
        for (const key of ['p', 'q', 'a', 'b', 'c'] as const) {
          const scale = Math.max(Math.abs(t.coef[key]), Math.abs(t.coef.a), Math.abs(t.coef.b), 1e-300);
          expect(Math.abs(s.coef[key] - t.coef[key]) / scale, `${p.name} step ${k} ${key}: ${s.coef[key]} vs ${t.coef[key]}`).toBeLessThan(1e-9);
        }
        if (p instanceof DdpmProcess && t.index! > 0) expect(rel(s.coef.c ** 2, p.posteriorVariance(t.index!))).toBeLessThan(1e-9);
      });
    }
  });

  it('defaults and errors: 50 steps (or N), η = 0, leading; η < 0 and S > N refused', () => {
    const p = new DdpmProcess('linear');
    expect(ddimPlan(p).steps.map((s) => s.index)).toEqual(ddimTimesteps(1000, 50, 'leading'));
    expect(ddimPlan(p).steps.every((s) => s.coef.c === 0)).toBe(true);
    expect(ddimPlan(new DdpmProcess('linear', 20)).steps.length).toBe(20);
    expect(() => ddimPlan(p, { eta: -0.1 })).toThrow(/η must be ≥ 0/);
    expect(() => ddimPlan(p, { steps: 1001 })).toThrow(/steps must be an integer in 1..1000/);
  });
});

describe(`annealed Langevin dynamics (seed ${TEST_SEED})`, () => {
  it('NCSN Alg. 1: levels largest first, T steps each of x + (α_i/2)·s + √α_i·z with α_i = ε·σ_i²/σ_L², then x + σ_L²·s', () => {
    for (let rep = 0; rep < 3; rep++) {
      const sMax = uni(1, 50), sMin = uni(0.001, 0.1), L = randInt(1, 60), T = randInt(1, 8), eps = uni(1e-6, 1e-4);
      const p = new NcsnProcess(sMax, sMin, L);
      // σ_1 > … > σ_L in the paper's order
      const sig = (j: number) => (L === 1 ? sMax : sMax * (sMin / sMax) ** (j / (L - 1)));
      const plan = annealedPlan(p, { stepsPerLevel: T, eps });
      expect(plan.steps.length).toBe(L * T + 1);
      expect(plan.init).toEqual({ kind: 'normal', std: sMax });
      expect(plan.clip).toBe(false);
      const sL = sig(L - 1);
      plan.steps.forEach((s, k) => {
        const x = normal() * uni(0.1, sMax), score = normal() * uni(0.1, 10), z = normal();
        if (k < L * T) {
          const j = Math.floor(k / T), alpha = (eps * sig(j) ** 2) / sL ** 2;
          expect(s.index).toBe(L - 1 - j);
          expect(rel(s.cond, sig(j))).toBeLessThan(1e-12);
          const want = x + (alpha / 2) * score + Math.sqrt(alpha) * z;
          expectClose(apply(s.coef, x, score, z), want, Math.abs(x) + Math.abs((alpha / 2) * score) + Math.abs(Math.sqrt(alpha) * z), `L=${L} T=${T} step ${k}`);
        } else {
          expect(s.index).toBe(0);
          expect(rel(s.cond, sL)).toBeLessThan(1e-12);
          expectClose(apply(s.coef, x, score, z), x + sL * sL * score, Math.abs(x) + Math.abs(sL * sL * score), 'denoising step');
          expect(s.coef.c).toBe(0);
        }
      });
      const noDen = annealedPlan(p, { stepsPerLevel: T, eps, denoise: false, init: 'uniform' });
      expect(noDen.steps.length).toBe(L * T);
      expect(noDen.init).toEqual({ kind: 'uniform', lo: 0, hi: 1 });
    }
  });

  it('refuses a DDPM process (a clear message naming the alternatives) and bad T or ε', () => {
    for (const p of [new DdpmProcess('linear'), new DdpmProcess('cosine', 50)]) {
      expect(() => annealedPlan(p)).toThrow(/annealed.*variance-exploding.*NCSN.*'ddpm'.*ancestral.*ddim/);
      expect(() => makePlan('annealed', p)).toThrow(/variance-exploding/);
    }
    const q = new NcsnProcess(10, 0.01, 10);
    expect(() => annealedPlan(q, { stepsPerLevel: 0 })).toThrow(/steps per level must be a positive integer/);
    expect(() => annealedPlan(q, { eps: 0 })).toThrow(/ε must be > 0/);
    expect(() => makePlan('euler', q)).toThrow(/unknown sampler 'euler'.*ancestral, ddim, annealed/);
  });
});

describe(`plans converge on Gaussian data with the exact model (exact output moments; seed ${TEST_SEED})`, () => {
  // Per coordinate, x₀ ~ N(μ, v); the exact model is affine in x, so each plan's output is Gaussian with
  // moments computed exactly (score_refs.planMoments). Discretisation makes them differ from (μ, v);
  // the difference must shrink as the step count grows and be small at the papers' step counts.
  const mu = uni(-0.5, 0.5), v = uni(0.1, 0.3);
  const ddpmModel = (p: DdpmProcess) => (s: { index?: number }) => { const m = p.marginal(s.index!); return exactEps(m.mean, m.std, mu, v); };

  it(`DDPM (μ = ${mu.toFixed(3)}, v = ${v.toFixed(3)}): ancestral at T = 1000 within 3 %, DDIM η = 0 error falling with S to < 1.5 % at S = N`, () => {
    for (const p of [new DdpmProcess('linear'), new DdpmProcess('cosine')]) {
      for (const variance of ['posterior', 'beta'] as const) {
        const o = planMoments(ancestralPlan(p, { variance }), ddpmModel(p));
        expect(Math.abs(o.mean - mu) / Math.sqrt(v)).toBeLessThan(0.02);
        expect(Math.abs(o.variance / v - 1), `${p.schedule} ${variance}`).toBeLessThan(0.03);
      }
      for (const spacing of SPACINGS) {
        let prev = Infinity;
        for (const S of [10, 20, 50, 100, 200, 500, 1000]) {
          const o = planMoments(ddimPlan(p, { steps: S, spacing }), ddpmModel(p));
          const err = Math.abs(o.variance / v - 1);
          expect(err, `${p.schedule} ${spacing} S=${S}`).toBeLessThan(prev);
          prev = err;
          // the mean is off only by the start's mismatch with the marginal at the first index (leading spacing starts at t = N − N/S)
          if (S >= 50) expect(Math.abs(o.mean - mu) / Math.sqrt(v), `${p.schedule} ${spacing} S=${S}`).toBeLessThan(0.02);
        }
        expect(prev).toBeLessThan(0.015);
      }
    }
  });

  it('DDIM on variance-exploding processes (NCSN levels, the VE SDE grid) starts from the noise of its first index: leading spacing as close to the data as trailing, < 2 % at S = N', () => {
    // x_t = x₀ + s_t·z: a chain that skips the top indices (leading spacing starts at N − N/S) must
    // start at s_{t₀}, not at the prior's σ_max — the excess noise survives x̂₀ (found on the VE
    // Fashion-MNIST model: DDIM-20 gave saturated noise where Euler–Maruyama gave garments; with the
    // start at σ_max the variance here came out +79 % at S = 20 and +25 % at S = 50, trailing −19 % and −8 %)
    const m0 = uni(0.3, 0.7), v0 = uni(0.01, 0.05);
    const model = (p: DiscreteProcess) => (s: { index?: number }) => { const m = p.marginal(s.index!); return exactScore(m.mean, m.std, m0, v0); };
    for (const p of [new NcsnProcess(uni(10, 50), 0.01, randInt(600, 1000)), new SdeGrid(new VeSde(0.01, uni(10, 50), randInt(600, 1000)))]) {
      const what = `${p.name} σ_max ${p.priorStd.toFixed(1)} N ${p.N} v ${v0.toFixed(3)}`;
      const errs = (spacing: Spacing) =>
        [10, 20, 50, 200, p.N].map((S) => {
          const plan = ddimPlan(p, { steps: S, spacing });
          // the start stands for x at the first index: its variance is s² there (+ the data's, which the prior neglects)
          expect(plan.init.kind === 'normal' && plan.init.std, `${what} ${spacing} S=${S}`).toBeCloseTo(p.marginal(plan.steps[0].index!).std, 10);
          const o = planMoments(plan, model(p));
          return { v: o.variance / v0 - 1, m: (o.mean - m0) / Math.sqrt(v0), s0: p.marginal(plan.steps[0].index!).std };
        });
      const trailing = errs('trailing');
      for (const spacing of SPACINGS) {
        const e = errs(spacing);
        e.forEach((x, k) => {
          expect(Math.abs(x.v - trailing[k].v), `${what} ${spacing} vs trailing, step count #${k}: ${x.v} vs ${trailing[k].v}`).toBeLessThan(0.03);
          // the prior's mean is 0, not the data's m0; the flow maps x at s₀ to m0 + √(v0/(v0 + s₀²))·(x − m0),
          // so the start's offset leaves m0/√(v0 + s₀²) data SDs (0.16 from s₀ ≈ 3, where leading spacing
          // with S = 200 of N = 790 starts)
          expect(Math.abs(x.m), `${what} ${spacing} #${k}`).toBeLessThan(0.03 + 1.1 * m0 / Math.sqrt(v0 + x.s0 ** 2));
          if (k > 0) expect(Math.abs(x.v), `${what} ${spacing} #${k}`).toBeLessThan(Math.abs(e[k - 1].v));
        });
        expect(Math.abs(e[e.length - 1].v), `${what} ${spacing} S = N`).toBeLessThan(0.02);
      }
    }
  });

  it('NCSN (v ∈ [0.01, 0.05]): VE ancestral error falling with L to < 2 % at L = 1000; annealed Langevin (100 levels, T = 50, ε = 0.2σ_L²) within 2 %', () => {
    const m0 = uni(0.3, 0.7), v0 = uni(0.01, 0.05);
    const model = (s: { cond: number }) => exactScore(1, s.cond, m0, v0);
    let prev = Infinity;
    for (const L of [30, 100, 300, 1000]) {
      const o = planMoments(ancestralPlan(new NcsnProcess(10, 0.01, L)), model);
      const err = Math.abs(o.variance / v0 - 1);
      expect(err).toBeLessThan(prev);
      expect(Math.abs(o.mean - m0) / Math.sqrt(v0)).toBeLessThan(0.01);
      prev = err;
    }
    expect(prev).toBeLessThan(0.02);
    const o = planMoments(annealedPlan(new NcsnProcess(10, 0.01, 100), { stepsPerLevel: 50, eps: 0.2 * 0.01 ** 2 }), model);
    expect(Math.abs(o.mean - m0) / Math.sqrt(v0)).toBeLessThan(0.01);
    expect(Math.abs(o.variance / v0 - 1)).toBeLessThan(0.02);
  });
});
