// The probability-flow ODE sampler (issue 12, item 4) with the exact score of a Gaussian mixture: a
// field that is not affine in x, unlike the Gaussian-data tests of ode_likelihood.test.ts, so the
// solver, the drift f − ½g²·s and the final denoising step are checked where a wrong coefficient
// would move samples between modes (the mode weights) or smear them (the per-mode moments).
// Data: x₀ ~ Σ_k w_k N(μ_k, v_k·I) in D dimensions; under x = m·x₀ + s·z the marginal is
//   p_t(x) = Σ_k w_k N(x; m·μ_k, V_k·I),  V_k = m²v_k + s²,
//   ∇ log p_t(x) = Σ_k γ_k(x)·(m·μ_k − x)/V_k,  γ_k ∝ w_k·V_k^{−D/2}·exp(−‖x − m·μ_k‖²/(2V_k)),
// and the exact network returns ε = −s·∇ log p_t (VP, sub-VP) or the score itself (VE, m = 1, s = σ = cond).
// These are the ground truth for the VP model's texture samples (issue 12 note): with the exact score the
// same solver, drift and denoising step give the mixture, so the texture comes from the learnt score.
// The ODE's flow map carries p_T to p_ε exactly, so its samples must show the mixture: each mode's
// share within sampling error, and each mode's mean and variance as the data's.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { noGrad } from '../src/autograd/engine.js';
import { VeSde, VpSde, SubVpSde, type Sde } from '../src/score/sde/index.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';
import { sampleFlow } from '../src/score/sampling/ode/flow.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});
const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();

const shape = [1, 2, 3], D = 6, K = 3;

/** K well-separated components (pairwise distance ≥ 10 of the largest std) with unequal weights. */
function mixture(lo: number, hi: number) {
  const v = Array.from({ length: K }, () => uni(0.004, 0.015));
  const sd = Math.sqrt(Math.max(...v));
  let mu: Float64Array[];
  do {
    mu = Array.from({ length: K }, () => Float64Array.from(r.uniform(D, lo, hi)));
  } while (mu.some((a, i) => mu.some((b, j) => j > i && Math.hypot(...a.map((x, k) => x - b[k])) < 10 * sd)));
  const raw = Array.from({ length: K }, () => uni(0.5, 3));
  const w = raw.map((x) => x / raw.reduce((a, b) => a + b, 0));
  return { mu, v, w, muT: mu.map((m) => Tensor.fromArray(d, m, [1, D]).keep()) };
}
type Mixture = ReturnType<typeof mixture>;

/** The exact network of the mixture for an SDE (its own m, s columns from cond = 999t, or σ for VE). */
function exactNet(sde: Sde, g: Mixture): NoiseConditionalNet {
  return {
    forward(x, cond) {
      const B = x.shape[0], xf = op.reshape(x, [B, D]);
      let m: Tensor | null = null, s: Tensor;
      if (sde instanceof VeSde) s = cond;
      else {
        const c = noGrad(() => sde.columns(op.scale(cond, 1 / 999)));
        m = c.mean;
        s = c.std;
      }
      const s2 = op.square(s);
      const parts = g.mu.map((_, k) => {
        const diff = op.sub(xf, m ? op.mul(m, g.muT[k]) : g.muT[k]); // x − m·μ_k   [B, D]
        const V = m ? op.affine(op.square(m), g.v[k], 0) : op.affine(s2, 1, g.v[k]); // m²v_k (+ s² below) or v_k + σ²
        const Vk = m ? op.add(V, s2) : V; // [B, 1]
        const sq = op.sum(op.square(diff), 1, true);
        // l_k = log w_k − (D/2)·log V_k − ‖x − mμ_k‖²/(2V_k)
        const l = op.affine(op.add(op.scale(op.log(Vk), -D / 2), op.scale(op.div(sq, Vk), -0.5)), 1, Math.log(g.w[k]));
        return { diff, Vk, l };
      });
      // γ_k = 1/Σ_j exp(l_j − l_k) (an overflow gives 1/∞ = 0, never NaN); score = −Σ γ_k·diff_k/V_k
      let acc: Tensor | null = null;
      for (const p of parts) {
        let z: Tensor | null = null;
        for (const q of parts) z = z ? op.add(z, op.exp(op.sub(q.l, p.l))) : op.exp(op.sub(q.l, p.l));
        const term = op.div(op.div(p.diff, p.Vk), z!); // γ_k·(x − mμ_k)/V_k
        acc = acc ? op.add(acc, term) : term;
      }
      const out = m ? op.mul(s, acc!) : op.scale(acc!, -1); // ε = s·Σγ(x − mμ)/V, or the score
      return op.reshape(out, x.shape);
    },
  };
}

describe(`the probability-flow ODE sampler with the exact score of a Gaussian mixture (seed ${TEST_SEED})`, () => {
  const n = 2000;
  const cases: [string, () => Sde, [number, number]][] = [
    ['VP', () => new VpSde(), [-0.7, 0.7]],
    ['sub-VP', () => new SubVpSde(uni(0.05, 0.2), uni(15, 25)), [-0.7, 0.7]],
  ];
  // (VE left out for now: its RK45 solve of this field did not finish within the test's time on
  // lavapipe under load — to look into; VE's exact-score ODE is covered on Gaussian data.)
  for (const [name, make, range] of cases) {
    it(`${name}: RK45 (rtol = atol = 1e-5, denoised at t = 1e-3) gives each mode its weight, mean and variance`, async () => {
      const sde = make(), g = mixture(...range), net = exactNet(sde, g);
      try {
        const res = await sampleFlow(d, net, sde, { n, shape, seed: (TEST_SEED % 100000) + 11 });
        expect(res.samples.every(Number.isFinite), 'non-finite samples').toBe(true);
        // assign each sample to its nearest mean
        const members: number[][] = g.mu.map(() => []);
        for (let i = 0; i < n; i++) {
          let best = 0, bd = Infinity;
          g.mu.forEach((mu, k) => {
            let s = 0;
            for (let j = 0; j < D; j++) s += (res.samples[i * D + j] - mu[j]) ** 2;
            if (s < bd) [bd, best] = [s, k];
          });
          members[best].push(i);
        }
        g.w.forEach((w, k) => {
          const f = members[k].length / n, se = Math.sqrt((w * (1 - w)) / n);
          expect(Math.abs(f - w), `${name} mode ${k}: share ${f} vs weight ${w}`).toBeLessThan(5 * se + 0.005);
          const nk = members[k].length;
          let varSum = 0;
          for (let j = 0; j < D; j++) {
            let mean = 0;
            for (const i of members[k]) mean += res.samples[i * D + j] / nk;
            let v = 0;
            for (const i of members[k]) v += (res.samples[i * D + j] - mean) ** 2 / (nk - 1);
            varSum += v;
            expect(Math.abs(mean - g.mu[k][j]), `${name} mode ${k} pixel ${j}: mean ${mean} vs ${g.mu[k][j]}`).toBeLessThan(5 * Math.sqrt(g.v[k] / nk) + 0.02 * Math.sqrt(g.v[k]));
          }
          // pooled over the D pixels; the ε-marginal adds s(ε)² ≈ 1e-4 (σ_min² for VE), the denoising step takes most of it back
          const ratio = varSum / D / g.v[k];
          expect(Math.abs(ratio - 1), `${name} mode ${k}: variance ${varSum / D} vs ${g.v[k]}`).toBeLessThan(5 * Math.sqrt(2 / ((nk - 1) * D)) + 0.05);
        });
        expect(res.nfe).toBe(2 + 6 * (res.accepted + res.rejected) + 1);
      } finally {
        g.muT.forEach((t) => t.dispose());
      }
    }, 120_000);
  }
});
