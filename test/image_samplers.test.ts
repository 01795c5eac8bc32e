// The image samplers end to end on the GPU with an analytic model: data x₀ ~ N(μ, diag(v)) over
// 2×4×4 images (fixed random μ, v per pixel), whose exact network output — ε̂ = s·(x − m·μ)/(m²v + s²)
// for DDPM, the score −(x − μ)/(v + σ²) for NCSN — is built from the engine's ops on the device.
// `runPlan` runs each sampler's plan; the samples' per-pixel mean and variance must match
//  (1) the plan's exact output moments (every step is affine in x for this model: score_refs.planMoments),
//      within the sampling error of n samples — this checks the execution (network, fused update,
//      noise, recording and replay) — and
//  (2) the data (μ, v), within the sampling error plus each sampler's own discretisation bias (DDIM
//      and coarse ancestral chains shrink the variance of Gaussian data; sampler_plans.test.ts shows
//      the bias vanishing as the step count grows).
// Also: runPlan is reproducible under a seed, and the denoising loss of the exact model is the
// irreducible E‖ε̂ − z‖² for every model parametrisation.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { noGrad } from '../src/autograd/engine.js';
import { randn, randint, rademacher } from '../src/tensor/ops/random.js';
import { DdpmProcess, NcsnProcess, type DiscreteProcess, type Prediction } from '../src/score/processes/index.js';
import { ancestralPlan, ddimPlan, annealedPlan, runPlan, type SamplerPlan } from '../src/score/sampling/index.js';
import { denoisingLoss, type NoiseConditionalNet, type Noise } from '../src/score/losses.js';
import { planMoments, exactEps, exactScore } from './score_refs.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const shape = [2, 4, 4];
const D = 32;
const n = 4000;
const r = rng(TEST_SEED);
const seed = (TEST_SEED % 1_000_000) + 1;

/** Per-pixel data statistics, as float32 (what the device sees) and their float64 values. */
function gaussianData(muLo: number, muHi: number, vLo: number, vHi: number) {
  const mu = r.uniform(D, muLo, muHi), v = r.uniform(D, vLo, vHi);
  return { mu, v, muT: Tensor.fromArray(d, mu, [1, ...shape]).keep(), vT: Tensor.fromArray(d, v, [1, ...shape]).keep() };
}
type Data = ReturnType<typeof gaussianData>;

/** [N, 1] float32 column of a per-index quantity of a process. */
const column = (p: DiscreteProcess, f: (i: number) => number) => Tensor.fromArray(d, Float32Array.from({ length: p.N }, (_, i) => f(i)), [p.N, 1]).keep();

/** The exact ε-prediction of DDPM for Gaussian data: m, s gathered by the index t the sampler feeds as cond. */
function ddpmNet(p: DdpmProcess, data: Data) {
  const mean = column(p, (i) => p.marginal(i).mean), std = column(p, (i) => p.marginal(i).std);
  const perSample = (col: Tensor, cond: Tensor) => op.reshape(op.gather(col, cond), [cond.shape[0], 1, 1, 1]);
  const net: NoiseConditionalNet = {
    forward(x, cond) {
      const m = perSample(mean, cond), s = perSample(std, cond);
      return op.div(op.mul(s, op.sub(x, op.mul(m, data.muT))), op.add(op.mul(op.mul(m, m), data.vT), op.mul(s, s)));
    },
  };
  return { net, m: perSample.bind(null, mean), s: perSample.bind(null, std), cols: { mean, std }, dispose: () => [mean, std].forEach((t) => t.dispose()) };
}

/** The exact score of the σ-smoothed Gaussian data: −(x − μ)/(v + σ²), σ being the cond NCSN feeds. */
function ncsnNet(data: Data): NoiseConditionalNet {
  return {
    forward(x, cond) {
      const s = op.reshape(cond, [cond.shape[0], 1, 1, 1]);
      return op.div(op.sub(data.muT, x), op.add(data.vT, op.mul(s, s)));
    },
  };
}

/** Per-pixel sample mean and (unbiased) variance of [n, D] samples. */
function moments(samples: Float32Array) {
  const mean = new Float64Array(D), variance = new Float64Array(D);
  for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) mean[j] += samples[k * D + j] / n;
  for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) variance[j] += (samples[k * D + j] - mean[j]) ** 2 / (n - 1);
  return { mean, variance };
}

/**
 * (1) against the plan's exact moments: every pixel's mean within 5 standard errors, variance within 5
 * standard errors of a sample variance (√(2/(n−1)) relative); over all pixels, the sum of squared
 * z-scores of the means (χ² with D degrees of freedom) under D + 6√(2D) and the variances' summed
 * z-scores (/√D, ≈ N(0, 1)) within 5 — these catch a bias of a few % shared by every pixel;
 * (2) against the data: means within 5√(v/n) + 0.03√v, variances within `bias` + 5√(2/(n−1)) relative.
 */
function check(name: string, samples: Float32Array, exact: { mean: number; variance: number }[], data: Data, bias: number) {
  expect(samples.every(Number.isFinite), `${name}: non-finite samples`).toBe(true);
  const got = moments(samples);
  const se = Math.sqrt(2 / (n - 1));
  let chi2 = 0, zvSum = 0;
  for (let j = 0; j < D; j++) {
    const { mean: M, variance: V } = exact[j];
    const zm = (got.mean[j] - M) / Math.sqrt(V / n);
    const zv = (got.variance[j] / V - 1) / se;
    chi2 += zm * zm;
    zvSum += zv;
    // 6σ a pixel (8 plans × 64 checks at 5σ would fail a correct run about once in 2500, by the normal tail); Σ z² and Σ z_v catch a shared bias
    expect(Math.abs(zm), `${name} pixel ${j}: mean ${got.mean[j]} vs the plan's exact ${M} (sd ${Math.sqrt(V / n)})`).toBeLessThan(6);
    expect(Math.abs(zv), `${name} pixel ${j}: variance ${got.variance[j]} vs the plan's exact ${V}`).toBeLessThan(6);
    const mu = data.mu[j], v = data.v[j];
    expect(Math.abs(got.mean[j] - mu), `${name} pixel ${j}: mean ${got.mean[j]} vs data ${mu}`).toBeLessThan(5 * Math.sqrt(v / n) + 0.03 * Math.sqrt(v));
    expect(Math.abs(got.variance[j] / v - 1), `${name} pixel ${j}: variance ${got.variance[j]} vs data ${v}`).toBeLessThan(bias + 5 * se);
  }
  expect(chi2, `${name}: Σ z² of the means over ${D} pixels`).toBeLessThan(D + 6 * Math.sqrt(2 * D));
  expect(Math.abs(zvSum / Math.sqrt(D)), `${name}: the variances' z-scores summed over ${D} pixels, / √D`).toBeLessThan(5);
}

describe(`image samplers on Gaussian data with the exact model (n = ${n}, seed ${seed})`, () => {
  // T = 250 with β from 4e-4 to 0.08: the paper's schedule (Σβ ≈ 10, ᾱ_T ≈ 3e-5) in a quarter of the steps
  describe('DDPM (linear β 4e-4 → 0.08, T = 250), ε-prediction', () => {
    const p = new DdpmProcess('linear', 250, 4e-4, 0.08);
    let data: Data, model: ReturnType<typeof ddpmNet>;
    beforeAll(() => {
      data = gaussianData(-0.5, 0.5, 0.1, 0.3);
      model = ddpmNet(p, data);
    });
    afterAll(() => {
      model.dispose();
      data.muT.dispose();
      data.vT.dispose();
    });
    const exact = (plan: SamplerPlan) =>
      Array.from({ length: D }, (_, j) => planMoments(plan, (s) => { const m = p.marginal(s.index!); return exactEps(m.mean, m.std, data.mu[j], data.v[j]); }));

    // the variance bias each sampler may show against the data, from its exact moments for v ∈ [0.1, 0.3]
    // (ancestral −5…−8 %, DDIM(50, 0) −10…−15 %, DDIM(20, 0) −22…−32 %, DDIM(50, 1) −20…−28 %, DDIM(20, 1) −36…−47 %)
    const cases: [string, () => SamplerPlan, number][] = [
      ['ancestral (β̃)', () => ancestralPlan(p), 0.1],
      ['DDIM 50 steps η = 0', () => ddimPlan(p, { steps: 50, eta: 0 }), 0.2],
      ['DDIM 20 steps η = 0', () => ddimPlan(p, { steps: 20, eta: 0 }), 0.4],
      ['DDIM 50 steps η = 1', () => ddimPlan(p, { steps: 50, eta: 1 }), 0.35],
      ['DDIM 20 steps η = 1', () => ddimPlan(p, { steps: 20, eta: 1 }), 0.55],
    ];
    for (const [name, make, bias] of cases) {
      it(name, async () => {
        const plan = make();
        const res = await runPlan(d, model.net, plan, { n, shape, seed });
        expect(res.nfe).toBe(plan.steps.length);
        check(name, res.samples, exact(plan), data, bias);
      });
    }

    it('runPlan: the same seed gives the same samples, another seed other samples', async () => {
      const plan = ddimPlan(p, { steps: 10, eta: 1 });
      const a = await runPlan(d, model.net, plan, { n: 64, shape, seed });
      const b = await runPlan(d, model.net, plan, { n: 64, shape, seed });
      const c = await runPlan(d, model.net, plan, { n: 64, shape, seed: seed + 1 });
      expect(Array.from(b.samples)).toEqual(Array.from(a.samples));
      let same = 0;
      for (let k = 0; k < a.samples.length; k++) if (a.samples[k] === c.samples[k]) same++;
      expect(same).toBeLessThan(a.samples.length / 100);
    });

    it('denoising loss of the exact model is E‖ε̂ − z‖² = E_t mean_d m²v/(m²v + s²), for every parametrisation', async () => {
      const B = 8192;
      const x0 = Tensor.fromArray(d, Float32Array.from(r.normal(B * D), (z, k) => data.mu[k % D] + Math.sqrt(data.v[k % D]) * z), [B, ...shape]).keep();
      // E over t uniform of the per-sample mean over pixels of κ = m²v/(m²v + s²), and its variance per sample
      let mean = 0, between = 0, within = 0;
      for (let i = 0; i < p.N; i++) {
        const { mean: m, std: s } = p.marginal(i);
        let e = 0, w = 0;
        for (let j = 0; j < D; j++) {
          const kap = (m * m * data.v[j]) / (m * m * data.v[j] + s * s);
          e += kap / D;
          w += (2 * kap * kap) / (D * D);
        }
        mean += e / p.N;
        between += (e * e) / p.N;
        within += w / p.N;
      }
      const sd = Math.sqrt((within + between - mean * mean) / B);
      // the other parametrisations' exact outputs, from ε̂: score = −ε̂/s, x₀ = (x − s·ε̂)/m, v = m·ε̂ − s·x₀
      const as = (pred: Prediction): NoiseConditionalNet => ({
        forward(x, cond) {
          const eps = model.net.forward(x, cond), m = model.m(cond), s = model.s(cond);
          const x0hat = op.div(op.sub(x, op.mul(s, eps)), m);
          return pred === 'eps' ? eps : pred === 'score' ? op.neg(op.div(eps, s)) : pred === 'x0' ? x0hat : op.sub(op.mul(m, eps), op.mul(s, x0hat));
        },
      });
      const cond = column(p, (i) => p.conditioning(i));
      for (const pred of ['eps', 'score', 'x0', 'v'] as const) {
        let k = 0;
        const noise: Noise = {
          normal: (sh) => randn(d, sh, seed, { stream: 10 + ++k }),
          rademacher: (sh) => rademacher(d, sh, seed, { stream: 10 + ++k }),
          randint: (sh, high) => randint(d, sh, high, seed, { stream: 10 + ++k }),
        };
        const lossT = d.scope(() => noGrad(() => denoisingLoss(as(pred), { mean: model.cols.mean, std: model.cols.std, cond, prediction: pred, reduction: 'mean' }, x0, noise)));
        const loss = await lossT.toArray();
        lossT.dispose();
        expect(Math.abs(loss[0] - mean), `${pred}: loss ${loss[0]} vs ${mean} ± ${sd}`).toBeLessThan(5 * sd + 1e-4 * mean);
      }
      cond.dispose();
      x0.dispose();
    });
  });

  describe('NCSN (σ 10 → 0.01, 30 levels), score prediction', () => {
    const p = new NcsnProcess(10, 0.01, 30);
    let data: Data, net: NoiseConditionalNet;
    beforeAll(() => {
      data = gaussianData(0.3, 0.7, 0.01, 0.05);
      net = ncsnNet(data);
    });
    afterAll(() => {
      data.muT.dispose();
      data.vT.dispose();
    });
    const exact = (plan: SamplerPlan) => Array.from({ length: D }, (_, j) => planMoments(plan, (s) => exactScore(1, s.cond, data.mu[j], data.v[j])));

    // variance biases from the exact moments for v ∈ [0.01, 0.05]: annealed T = 10 +5…+6 %, T = 5 +12…+13 %
    // (the chain does not quite settle at each level), VE ancestral over 30 levels −20…−21 %
    it('annealed Langevin (T = 10 per level, ε = σ_L²) with the final denoising step', async () => {
      const plan = annealedPlan(p, { stepsPerLevel: 10, eps: 0.01 ** 2 });
      const res = await runPlan(d, net, plan, { n, shape, seed });
      check('annealed', res.samples, exact(plan), data, 0.1);
    });

    it('annealed Langevin from U(0, 1) (NCSN\'s start), T = 5', async () => {
      const plan = annealedPlan(p, { stepsPerLevel: 5, eps: 0.01 ** 2, init: 'uniform' });
      const res = await runPlan(d, net, plan, { n, shape, seed: seed + 7 });
      check('annealed from uniform', res.samples, exact(plan), data, 0.2);
    });

    it('VE ancestral (30 levels)', async () => {
      const plan = ancestralPlan(p);
      const res = await runPlan(d, net, plan, { n, shape, seed });
      check('VE ancestral', res.samples, exact(plan), data, 0.25);
    });

    it('the NCSN denoising loss (½·Σ over pixels) of the exact score is ½ E_σ Σ_d v/(v + σ²)', async () => {
      const B = 8192;
      const x0 = Tensor.fromArray(d, Float32Array.from(r.normal(B * D), (z, k) => data.mu[k % D] + Math.sqrt(data.v[k % D]) * z), [B, ...shape]).keep();
      let mean = 0, between = 0, within = 0;
      for (let i = 0; i < p.N; i++) {
        const s2 = p.sigma(i) ** 2;
        let e = 0, w = 0;
        for (let j = 0; j < D; j++) {
          const kap = data.v[j] / (data.v[j] + s2);
          e += kap / 2;
          w += (2 * kap * kap) / 4;
        }
        mean += e / p.N;
        between += (e * e) / p.N;
        within += w / p.N;
      }
      const sd = Math.sqrt((within + between - mean * mean) / B);
      const mean1 = column(p, () => 1), std = column(p, (i) => p.sigma(i)), cond = column(p, (i) => p.conditioning(i));
      let k = 0;
      const noise: Noise = {
        normal: (sh) => randn(d, sh, seed, { stream: 20 + ++k }),
        rademacher: (sh) => rademacher(d, sh, seed, { stream: 20 + ++k }),
        randint: (sh, high) => randint(d, sh, high, seed, { stream: 20 + ++k }),
      };
      const lossT = d.scope(() => noGrad(() => denoisingLoss(net, { mean: mean1, std, cond, prediction: 'score', reduction: 'half-sum' }, x0, noise)));
      const loss = await lossT.toArray();
      lossT.dispose();
      expect(Math.abs(loss[0] - mean), `loss ${loss[0]} vs ${mean} ± ${sd}`).toBeLessThan(5 * sd + 1e-4 * mean);
      [mean1, std, cond, x0].forEach((t) => t.dispose());
    });
  });
});
