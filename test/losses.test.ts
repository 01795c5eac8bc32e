// Each objective's value against its closed form for a linear score model s(x) = −a·x (σ-scaled for
// NCSN), where the expectations over the noise can be written down. Deterministic cases must match
// to float32 precision; Monte-Carlo cases within 4 standard errors of the closed form (the variance
// over the noise also in closed form, per sample), with a batch large enough that a 5 % error in a
// constant (a missing ½, σ instead of σ², a dropped term) falls outside (checked by mutation).
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { esmLoss, dsmLoss, ssmLoss, ncsnLoss, type Noise, type ScoreModel } from '../src/score/losses.js';
import { randn, rademacher, randint } from '../src/tensor/ops/random.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

function noiseSource(seed: number): Noise {
  let k = 0;
  return {
    normal: (shape) => randn(d, shape, seed, { stream: ++k }),
    rademacher: (shape) => rademacher(d, shape, seed, { stream: ++k }),
    randint: (shape, high) => randint(d, shape, high, seed, { stream: ++k }),
  };
}

const linear = (a: number): ScoreModel => ({ score: (x) => op.scale(x, -a) });
const value = async (t: Tensor) => (await t.toArray())[0];

describe('objectives against closed forms (linear score s(x) = −a·x)', () => {
  const seed = (Math.random() * 2 ** 31) >>> 0;
  // 5 SE on 65537 rows: five checks at 4 SE on 16387 would fail a correct run about once in 3000 (normal tail), and this is as tight
  // in absolute terms (a 5 % error in SSM's value still fails)
  const B = 65537;
  const D = 3;
  const a = 0.5 + Math.random();
  let x: Tensor;
  let sqNorm: number; // mean ‖x‖²
  let norms: Float64Array; // ‖x_b‖²
  let quart: Float64Array; // Σ_i x_bi⁴
  beforeAll(() => {
    const xs = Float32Array.from(rng(seed).normal(B * D), (v, i) => v * (1 + (i % D)) + 0.3);
    x = Tensor.fromArray(d, xs, [B, D]).keep();
    norms = new Float64Array(B);
    quart = new Float64Array(B);
    for (let i = 0; i < B * D; i++) {
      norms[Math.floor(i / D)] += xs[i] ** 2;
      quart[Math.floor(i / D)] += xs[i] ** 4;
    }
    sqNorm = norms.reduce((t, v) => t + v, 0) / B;
  });
  /** Standard error of a batch mean whose per-sample variance is varOf(b). */
  const stderr = (varOf: (b: number) => number) => {
    let v = 0;
    for (let b = 0; b < B; b++) v += varOf(b);
    return Math.sqrt(v) / B;
  };

  it(`ESM: ½a²‖x‖² − a·D exactly (seed ${seed})`, async () => {
    const got = await value(esmLoss(linear(a), x));
    const want = 0.5 * a * a * sqNorm - a * D;
    expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
  });

  it('SSM-VR with Rademacher projections: −a·D + ½a²‖x‖² exactly (vᵀv = D)', async () => {
    const got = await value(ssmLoss(linear(a), x, noiseSource(seed), { vr: true }));
    const want = -a * D + 0.5 * a * a * sqNorm;
    expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
  });

  const within = (got: number, want: number, se: number) =>
    expect(Math.abs(got - want), `got ${got}, want ${want} ± ${se}`).toBeLessThan(5 * se);

  it('SSM with Rademacher projections: −a·D + ½a²E(vᵀx)² = −a·D + ½a²‖x‖²', async () => {
    const got = await value(ssmLoss(linear(a), x, noiseSource(seed + 1)));
    // Var_v ½a²(vᵀx)² = ½a⁴(‖x‖⁴ − Σx_i⁴) for Rademacher v
    within(got, -a * D + 0.5 * a * a * sqNorm, stderr((b) => 0.5 * a ** 4 * (norms[b] ** 2 - quart[b])));
  });

  it('ESM on data smoothed by σ: ½a²(‖x‖² + Dσ²) − a·D', async () => {
    const sigma = 0.7;
    const got = await value(esmLoss(linear(a), x, { sigma, noise: noiseSource(seed + 2) }));
    // Var_z ½a²‖x + σz‖² = a⁴(σ²‖x‖² + Dσ⁴/2)
    within(got, 0.5 * a * a * (sqNorm + D * sigma * sigma) - a * D, stderr((b) => a ** 4 * (sigma ** 2 * norms[b] + (D * sigma ** 4) / 2)));
    expect(() => esmLoss(linear(a), x, { sigma })).toThrow(/noise source/);
  });

  it('DSM: ½E‖−a(x+σz) + z/σ‖² = ½(a²‖x‖² + D(aσ − 1/σ)²)', async () => {
    const sigma = 0.4;
    const got = await value(dsmLoss(linear(a), x, sigma, noiseSource(seed + 3)));
    const c = a * sigma - 1 / sigma;
    // Var_z ½‖u + cz‖² = c²‖u‖² + c⁴D/2 with u = −a·x
    within(got, 0.5 * (a * a * sqNorm + D * c * c), stderr((b) => c * c * a * a * norms[b] + (c ** 4 * D) / 2));
  });

  it('DSM, antithetic (z and −z per row): the odd term cancels in each pair, exactly ½(a²‖x‖² + c²‖z‖²) for the z drawn', async () => {
    const sigma = 0.1;
    const zs = Float32Array.from(rng(seed + 5).normal(B * D));
    let zz = 0;
    for (const v of zs) zz += v * v;
    // a noise source that hands out this z (and poisons any second draw)
    let draws = 0;
    const fixed: Noise = { ...noiseSource(seed + 5), normal: (shape) => (draws++ === 0 ? Tensor.fromArray(d, zs, shape) : Tensor.fromArray(d, new Float32Array(B * D).fill(NaN), shape)) };
    const got = await value(dsmLoss(linear(a), x, sigma, fixed, { antithetic: true }));
    const c = a * sigma - 1 / sigma;
    const want = 0.5 * (a * a * sqNorm + (c * c * zz) / B);
    expect(Math.abs(got - want), `got ${got}, want ${want}`).toBeLessThan(2e-5 * want);
    expect(draws).toBe(1);
    // and in expectation it is the plain DSM objective: ½(a²‖x‖² + D·c²), per-pair variance c⁴D/2
    const fresh = await value(dsmLoss(linear(a), x, sigma, noiseSource(seed + 6), { antithetic: true }));
    within(fresh, 0.5 * (a * a * sqNorm + D * c * c), stderr(() => (c ** 4 * D) / 2));
  });

  it('NCSN: ½E_σ E‖σ·s(x̃, σ) + z‖² with s = −a·x̃/σ² → ½E_σ[a²‖x‖²/σ² + D(1 − a)²]', async () => {
    const levels = [1.1, 1, 0.9]; // close levels: the spread over σ would otherwise dominate the variance
    const sig = Tensor.fromArray(d, levels, [levels.length, 1]);
    const model: ScoreModel = { score: (xt, s) => op.scale(op.div(xt, op.square(s!)), -a) };
    const got = await value(ncsnLoss(model, x, sig, noiseSource(seed + 4)));
    const want = levels.reduce((t, s) => t + 0.5 * ((a * a * sqNorm) / (s * s) + D * (1 - a) ** 2), 0) / levels.length;
    // per sample: σ uniform over the levels, then z; Var = E_σ[Var_z + m²] − (E_σ m)²
    const varOf = (b: number) => {
      let m1 = 0;
      let m2 = 0;
      for (const s of levels) {
        const m = 0.5 * ((a * a * norms[b]) / (s * s) + D * (1 - a) ** 2);
        const v = ((1 - a) ** 2 * a * a * norms[b]) / (s * s) + ((1 - a) ** 4 * D) / 2;
        m1 += m / levels.length;
        m2 += (v + m * m) / levels.length;
      }
      return m2 - m1 * m1;
    };
    within(got, want, stderr(varOf));
  });
});
