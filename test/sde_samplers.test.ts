// The SDE and few-step samplers (issue 12, items 3 and 6): predictor–corrector (every predictor with
// the Langevin corrector and with none, annealed Langevin), Euler–Maruyama, DPM-Solver++(2M) and EDM's
// Heun sampler.
//  CPU: the Karras schedule against its formula; DPM-Solver++(2M)'s and Heun's programs, run in float64
//   on random outputs of a made-up network, against the papers' updates written out here (diffusers'
//   multistep_dpm_solver_second_order_update, EDM Alg. 2 with churn).
//  GPU: the SNR rule's step on a fixed batch against float64 (norms computed on the device, nothing
//   read back in the chain); each sampler run with the exact model of Gaussian data x₀ ~ N(μ, diag(v))
//   (2×4×4 images) through a process: the samples' per-pixel moments match the plan's exact moments
//   (every step is affine in x for this model, so they follow from the start in float64; not for the
//   SNR rule, whose step depends on the batch) within sampling error, and the data within the
//   sampler's own discretisation bias (printed from the exact moments when a test fails).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNpy } from '../src/io/npy.js';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { noGrad } from '../src/autograd/engine.js';
import { randn, createClock } from '../src/tensor/ops/random.js';
import { DdpmProcess, NcsnProcess, buildProcess, type DiscreteProcess } from '../src/score/processes/index.js';
import { SdeGrid, VeSde, VpSde, SubVpSde, type Sde } from '../src/score/sde/index.js';
import {
  runPlan, pcPlan, emPlan, dpmpp2mPlan, heunPlan, karrasSigmas, makePlan, timeGrid,
  type SamplerPlan, type PlanStep, type ProgramOp, type Register,
} from '../src/score/sampling/index.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';
import type { UpdateCoef } from '../src/tensor/ops/affine_update.js';
import { exactEps, exactScore, roundHalfEven } from './score_refs.js';

const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();
const normal = () => r.normal(1)[0];
const seed = (TEST_SEED % 1_000_000) + 1;

// ------------------------------------------------------------------ float64 program interpreter

const SINGLE: ProgramOp[] = [{ target: 'x', source: 'out' }];
const opsOf = (plan: SamplerPlan) => plan.ops ?? SINGLE.map((o) => ({ ...o, clip: plan.clip }));
const coefsOf = (plan: SamplerPlan, s: PlanStep) => (plan.ops ? s.coefs! : [s.coef]);

/** Run a plan's ops in float64 on one coordinate: x starts at x0; `net(x, cond)` gives out; z() each op's noise. */
function run64(plan: SamplerPlan, x0: number, net: (x: number, cond: number) => number, z: () => number): number {
  const reg: Record<Register, number> = { x: x0, h: 0, r: 0 };
  const ops = opsOf(plan);
  for (const s of plan.steps) {
    const out = net(reg.x, s.cond);
    coefsOf(plan, s).forEach((c, j) => {
      const o = ops[j], src = o.source === 'out' ? out : reg[o.source];
      let x0h = c.p * reg[o.target] + c.q * src;
      if (o.clip) x0h = Math.min(Math.max(x0h, c.lo!), c.hi!);
      reg[o.target] = c.a * reg[o.target] + c.b * x0h + (c.c !== 0 ? c.c * z() : 0);
    });
  }
  return reg.x;
}

/**
 * Exact output moments of a plan (no SNR rule) on one coordinate whose model output is affine in the
 * network input, out = k·x + k0 per step: each register is a mean plus a linear combination of the
 * independent standard normals drawn so far (the start and each op's noise).
 */
function programMoments(plan: SamplerPlan, model: (s: PlanStep) => { k: number; k0: number }): { mean: number; variance: number } {
  if (plan.init.kind !== 'normal') throw new Error('programMoments: normal start only');
  type G = { m: number; w: number[] };
  const reg: Record<Register, G> = { x: { m: 0, w: [plan.init.std] }, h: { m: 0, w: [] }, r: { m: 0, w: [] } };
  let sources = 1;
  const lin = (a: number, g: G, b: number, h: G): G => {
    const w = Array.from({ length: Math.max(g.w.length, h.w.length) }, (_, i) => a * (g.w[i] ?? 0) + b * (h.w[i] ?? 0));
    return { m: a * g.m + b * h.m, w };
  };
  const ops = opsOf(plan);
  for (const s of plan.steps) {
    if (s.snr && s.snr.scale !== 0) throw new Error('programMoments: the SNR rule is not affine');
    const { k, k0 } = model(s);
    const out: G = { m: k * reg.x.m + k0, w: reg.x.w.map((v) => k * v) };
    coefsOf(plan, s).forEach((c, j) => {
      const o = ops[j], src = o.source === 'out' ? out : reg[o.source];
      if (o.clip) throw new Error('programMoments: clipping is not affine');
      const x0h = lin(c.p, reg[o.target], c.q, src);
      let v = lin(c.a, reg[o.target], c.b, x0h);
      if (c.c !== 0) {
        v = { m: v.m, w: [...v.w, ...Array(Math.max(0, sources - v.w.length)).fill(0)] };
        v.w[sources++] = c.c;
      }
      reg[o.target] = v;
    });
  }
  return { mean: reg.x.m, variance: reg.x.w.reduce((a, w) => a + w * w, 0) };
}

// ------------------------------------------------------------------ CPU

describe(`Karras σ schedule and the few-step samplers' updates (seed ${TEST_SEED})`, () => {
  it('karrasSigmas: (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, from σ_max down to σ_min', () => {
    for (let k = 0; k < 20; k++) {
      const n = 2 + Math.floor(r.next() * 200), lo = uni(1e-3, 0.1), hi = uni(1, 200), rho = k === 0 ? 7 : uni(1, 10);
      const got = karrasSigmas(n, lo, hi, rho);
      expect(got.length).toBe(n);
      for (let i = 0; i < n; i++) {
        const want = Math.pow(Math.pow(hi, 1 / rho) + (i / (n - 1)) * (Math.pow(lo, 1 / rho) - Math.pow(hi, 1 / rho)), rho);
        expect(Math.abs(got[i] - want) / want, `n=${n} ρ=${rho} i=${i}`).toBeLessThan(1e-12);
        if (i > 0) expect(got[i]).toBeLessThan(got[i - 1]);
      }
      expect(Math.abs(got[0] / hi - 1)).toBeLessThan(1e-12);
      expect(Math.abs(got[n - 1] / lo - 1)).toBeLessThan(1e-12);
    }
    expect(() => karrasSigmas(5, 2, 1)).toThrow(/σ_min < σ_max/);
  });

  /** A made-up network, nonlinear in x and smooth in its conditioning. */
  const fakeNet = (scale: number) => (x: number, c: number) => 0.4 * Math.tanh(x) + 0.2 * x + 0.3 * Math.sin(c / scale);

  it("DPM-Solver++(2M): each step is diffusers' dpmsolver++ midpoint update (first order first, x̂₀ last), for DDPM and the SDE grids", () => {
    const cases: [DiscreteProcess, number, number][] = [
      [new DdpmProcess('linear'), 20, 1000], [new DdpmProcess('cosine'), 7, 1000], [new DdpmProcess('linear', 300), 13, 300],
      [new SdeGrid(new VpSde()), 10, 1000], [new SdeGrid(new SubVpSde()), 25, 1000], [new SdeGrid(new VeSde(0.01, 50)), 15, 50], [new NcsnProcess(30, 0.01, 100), 12, 30],
      // as many steps as the grid has (or nearly): the rounding repeats an index, which diffusers drops
      [new SdeGrid(new SubVpSde()), 1000, 1000], [new DdpmProcess('linear', 300), 300, 300], [new DdpmProcess('linear', 300), 290 + Math.floor(r.next() * 10), 300],
    ];
    for (const [p, S0, scale] of cases) {
      const plan = dpmpp2mPlan(p, { steps: S0, clip: false });
      // diffusers: timesteps = linspace(0, N − 1, S + 1).round()[::-1][:-1], then np.unique (first kept);
      // σ from α_t = m, σ_t = s
      const all = Array.from({ length: S0 + 1 }, (_, j) => roundHalfEven((j * (p.N - 1)) / S0)).reverse().slice(0, S0);
      all[0] = p.N - 1;
      const ts = all.filter((t, k) => all.indexOf(t) === k), S = ts.length;
      if (S0 === p.N) expect(S, `${p.name}: S = N repeats an index`).toBeLessThan(S0);
      expect(plan.steps.length).toBe(S);
      expect(plan.steps.map((s) => s.index)).toEqual(ts);
      for (const st of plan.steps) for (const c of st.coefs!) expect([c.p, c.q, c.a, c.b, c.c].every(Number.isFinite), `${p.name} S=${S0}: coefficients at ${st.index}`).toBe(true);
      const net = fakeNet(scale);
      for (let trial = 0; trial < 3; trial++) {
        const x0 = normal() * p.priorStd;
        const got = run64(plan, x0, net, () => 0);
        // the reference loop
        let x = x0, prev = 0, hPrev = 0;
        for (let k = 0; k < S; k++) {
          const { mean: a, std: s } = p.marginal(ts[k]);
          const out = net(x, p.conditioning(ts[k]));
          const d0 = p.prediction === 'eps' ? (x - s * out) / a : (x + s * s * out) / a; // x̂₀ from ε or the score
          if (k === S - 1) {
            x = d0; // final_sigmas_type 'zero': σ_t = 0, α_t = 1
            break;
          }
          const nx = p.marginal(ts[k + 1]);
          const h = Math.log(nx.mean / nx.std) - Math.log(a / s);
          if (k === 0) x = (nx.std / s) * x - nx.mean * (Math.exp(-h) - 1) * d0;
          else {
            const r0 = hPrev / h, D1 = (1 / r0) * (d0 - prev);
            x = (nx.std / s) * x - nx.mean * (Math.exp(-h) - 1) * d0 - 0.5 * nx.mean * (Math.exp(-h) - 1) * D1;
          }
          prev = d0;
          hPrev = h;
        }
        expect(Math.abs(got - x) / (1 + Math.abs(x)), `${p.name} S=${S}: ${got} vs ${x}`).toBeLessThan(1e-9);
      }
    }
  });

  it("Heun: each step is EDM's Alg. 2 in x̃ = x/m with churn (γ = min(S_churn/n, √2 − 1) in [S_tmin, S_tmax], S_noise), 2n − 1 evaluations", () => {
    // σ ↔ (t, m, conditioning) written here from the closed forms
    const b0 = uni(0.05, 0.2), b1 = uni(10, 25);
    const vpT = (sig: number) => { const B = Math.log(1 + sig * sig), d = b1 - b0; return (-b0 + Math.sqrt(b0 * b0 + 2 * d * B)) / d; };
    const cases: { p: DiscreteProcess; level: (sig: number) => { m: number; cond: number }; scale: number }[] = [
      { p: new SdeGrid(new VpSde(b0, b1)), level: (sig) => ({ m: 1 / Math.sqrt(1 + sig * sig), cond: 999 * vpT(sig) }), scale: 1000 },
      { p: new NcsnProcess(40, 0.01, 200), level: (sig) => ({ m: 1, cond: sig }), scale: 40 },
      { p: new SdeGrid(new VeSde(0.02, 30)), level: (sig) => ({ m: 1, cond: sig }), scale: 30 },
    ];
    for (const { p, level, scale } of cases) {
      const sMin = p.marginal(0).std / p.marginal(0).mean, sMax = p.marginal(p.N - 1).std / p.marginal(p.N - 1).mean;
      for (const o of [{ steps: 2 + Math.floor(r.next() * 20) }, { steps: 12, churn: uni(5, 40), sTmin: 0.05, sTmax: 10, sNoise: 1.007 }]) {
        const plan = heunPlan(p, { ...o, clip: false });
        const n = o.steps;
        expect(plan.steps.length).toBe(2 * n - 1);
        const net = fakeNet(scale);
        const D = (xt: number, sig: number) => {
          const { m, cond } = level(sig), x = m * xt, out = net(x, cond), s = m * sig;
          return p.prediction === 'eps' ? (x - s * out) / m : (x + s * s * out) / m;
        };
        const sig = [...Array.from({ length: n }, (_, i) => (sMax ** (1 / 7) + (i / (n - 1 || 1)) * (sMin ** (1 / 7) - sMax ** (1 / 7))) ** 7), 0];
        const churn = 'churn' in o ? o.churn! : 0, tmin = 'sTmin' in o ? o.sTmin! : 0, tmax = 'sTmax' in o ? o.sTmax! : Infinity, sNoise = 'sNoise' in o ? o.sNoise! : 1;
        const gamma = (s: number) => (s >= tmin && s <= tmax ? Math.min(churn / n, Math.SQRT2 - 1) : 0);
        const zs = Array.from({ length: n }, () => normal());
        for (let trial = 0; trial < 2; trial++) {
          const start = normal();
          // the plan's start is m̂₀·x̂₀ with x̂₀ ~ N(0, σ̂₀²)
          const hat0 = Math.min(sMax, sig[0] * (1 + gamma(sig[0])));
          let zi = 0;
          const got = run64(plan, level(hat0).m * hat0 * start, net, () => zs[zi++]);
          // EDM Alg. 2
          let x = hat0 * start, zk = 0;
          for (let i = 0; i < n; i++) {
            let sh = sig[i];
            if (i > 0) {
              sh = Math.min(sMax, sig[i] * (1 + gamma(sig[i])));
              if (sh !== sig[i]) x = x + Math.sqrt(sh * sh - sig[i] * sig[i]) * sNoise * zs[zk++];
            } else sh = hat0;
            const d = (x - D(x, sh)) / sh;
            let xn = x + (sig[i + 1] - sh) * d;
            if (sig[i + 1] !== 0) {
              const d2 = (xn - D(xn, sig[i + 1])) / sig[i + 1];
              xn = x + (sig[i + 1] - sh) * (0.5 * d + 0.5 * d2);
            }
            x = xn;
          }
          expect(Math.abs(got - x) / (1 + Math.abs(x)), `${p.name} ${JSON.stringify(o)}: ${got} vs ${x}`).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('PC plans: N levels × (corrector steps + predictor), the last update noise-free with denoising; errors name the problem', () => {
    const p = new SdeGrid(new VpSde(0.1, 20, 1000));
    const a = pcPlan(p, { steps: 50, correctorSteps: 2 });
    expect(a.steps.length).toBe(150);
    expect(a.ops).toEqual([{ target: 'x', source: 'out', snr: true }]);
    expect(a.steps.filter((s) => s.snr!.scale > 0).length).toBe(100);
    expect(a.steps[149].coef.c).toBe(0);
    expect(pcPlan(p, { steps: 50, denoise: false }).steps[99].coef.c).toBeGreaterThan(0);
    const em = emPlan(p, { steps: 40 });
    expect(em.steps.length).toBe(40);
    expect(em.ops).toBeUndefined();
    const c = pcPlan(p, { steps: 30, predictor: 'none', corrector: 'langevin' });
    expect(c.steps[29].snr!.noise).toBe(0);
    expect(() => pcPlan(new SdeGrid(new SubVpSde()), { predictor: 'ancestral', steps: 30 })).toThrow(/not for subvp/);
    expect(() => pcPlan(p, { predictor: 'heun' })).toThrow(/unknown predictor 'heun'; valid: euler_maruyama, reverse_diffusion, ancestral, none/);
    expect(() => pcPlan(p, { corrector: 'x' })).toThrow(/unknown corrector 'x'/);
    expect(() => pcPlan(p, { steps: 10 })).toThrow(/more steps than β_max = 20/);
    expect(() => pcPlan(new SdeGrid(new SubVpSde()), { predictor: 'euler_maruyama', steps: 10 })).toThrow(/pc: a VP-type process needs more steps than β_max = 20/); // the corrector's α
    // Euler–Maruyama needs no discrete chain: any N, as score_sde
    expect(emPlan(p, { steps: 10 }).steps.map((s) => s.input!.std)).toEqual(timeGrid(p.sde, 10, 1e-3).map((t) => p.sde.marginalProb(t).std));
    expect(() => makePlan('em', new DdpmProcess('cosine'))).toThrow(/needs a score SDE.*cosine schedule — use ddim/);
    // a linear DDPM is VP's DDPM discretisation: the reverse-diffusion predictor is its own chain
    const dd = new DdpmProcess('linear'), rd = pcPlan(dd, { corrector: 'none' });
    expect(rd.steps.length).toBe(1000);
    expect(rd.steps[0].cond).toBeCloseTo(999, 9);
  });
});

// ------------------------------------------------------------------ GPU

describe(`SDE and few-step samplers on the GPU with the exact model of Gaussian data (seed ${seed})`, () => {
  let d: Device;
  beforeAll(async () => {
    d = await device();
  });
  const shape = [2, 4, 4], D = 32, n = 2000;

  it('the Langevin corrector\'s SNR step: ε = 2α(snr·mean‖z‖/mean‖s‖)², from norms on the device, matches float64 on a fixed batch', async () => {
    const B = 7, P = 3 * 5 * 5, sh = [3, 5, 5];
    const cx = uni(-0.5, -0.1), co = uni(0.5, 2), scale = uni(0.01, 0.2);
    const w = uni(0.2, 0.8), b = uni(-0.3, 0.3);
    const net: NoiseConditionalNet = { forward: (x) => op.affine(op.tanh(x), w, b) };
    const plan: SamplerPlan = {
      name: 'snr', init: { kind: 'normal', std: 1.3 }, clip: false, ops: [{ target: 'x', source: 'out', snr: true }],
      steps: [{ cond: 0, coef: { p: cx, q: co, a: 1, b: 0, c: 0 }, coefs: [{ p: cx, q: co, a: 1, b: 0, c: 0 }], snr: { scale, noise: 1 } }],
    };
    const res = await runPlan(d, net, plan, { n: B, shape: sh, seed });
    // the start and the step's noise, regenerated under the runner's keys (stream 0; stream 1 at clock step 1)
    const clock = createClock(d, 1);
    const x0 = await d.scope(() => noGrad(() => op.scale(randn(d, [B, ...sh], seed, { stream: 0 }), 1.3))).toArray();
    const z = await d.scope(() => randn(d, [B, ...sh], seed, { stream: 1, clock })).toArray();
    clock.dispose();
    const s = Array.from(x0, (x) => cx * x + co * (w * Math.tanh(x) + b));
    let ns = 0, nz = 0;
    for (let i = 0; i < B; i++) {
      let a2 = 0, z2 = 0;
      for (let j = 0; j < P; j++) {
        a2 += s[i * P + j] ** 2;
        z2 += z[i * P + j] ** 2;
      }
      ns += Math.sqrt(a2) / B;
      nz += Math.sqrt(z2) / B;
    }
    const eps = scale * (nz / ns) ** 2;
    const want = Array.from(x0, (x, k) => x + eps * s[k] + Math.sqrt(2 * eps) * z[k]);
    let err = 0, size = 0;
    want.forEach((v, k) => {
      err = Math.max(err, Math.abs(res.samples[k] - v));
      size = Math.max(size, Math.abs(v));
    });
    expect(err / size, `ε = ${eps}`).toBeLessThan(1e-5);
  });

  /** The exact network output of N(μ, diag v) data for a process, built from ops on the device (cond → m, s). */
  function exactNet(p: DiscreteProcess, muT: Tensor, vT: Tensor): NoiseConditionalNet {
    const sde = p instanceof SdeGrid ? p.sde : null;
    return {
      forward(x, cond) {
        const col = (t: Tensor) => op.reshape(t, [cond.shape[0], 1, 1, 1]);
        if (sde && sde.prediction === 'eps') {
          const c = noGrad(() => sde.columns(op.scale(cond, 1 / 999)));
          const m = col(c.mean), s = col(c.std);
          return op.div(op.mul(s, op.sub(x, op.mul(m, muT))), op.add(op.mul(op.mul(m, m), vT), op.mul(s, s)));
        }
        if (p instanceof DdpmProcess) throw new Error('use ddpmNet');
        const s = col(cond); // VE and NCSN: cond = σ, m = 1, the score −(x − μ)/(v + σ²)
        return op.div(op.sub(muT, x), op.add(vT, op.mul(s, s)));
      },
    };
  }
  /** DDPM's exact ε at integer indices (the cond DPM-Solver++ feeds), by a gather from [N, 1] tables. */
  function ddpmNet(p: DdpmProcess, muT: Tensor, vT: Tensor): NoiseConditionalNet {
    const mean = Tensor.fromArray(d, Float32Array.from({ length: p.N }, (_, i) => p.marginal(i).mean), [p.N, 1]).keep();
    const std = Tensor.fromArray(d, Float32Array.from({ length: p.N }, (_, i) => p.marginal(i).std), [p.N, 1]).keep();
    return {
      forward(x, cond) {
        const m = op.reshape(op.gather(mean, cond), [cond.shape[0], 1, 1, 1]), s = op.reshape(op.gather(std, cond), [cond.shape[0], 1, 1, 1]);
        return op.div(op.mul(s, op.sub(x, op.mul(m, muT))), op.add(op.mul(op.mul(m, m), vT), op.mul(s, s)));
      },
    };
  }
  /** (k, k0) of the exact output at a step's cond, in float64. */
  function exactAt(p: DiscreteProcess, mu: number, v: number) {
    return (s: PlanStep) => {
      if (p instanceof DdpmProcess) { const m = p.marginal(s.cond); return exactEps(m.mean, m.std, mu, v); }
      const sde: Sde | null = p instanceof SdeGrid ? p.sde : null;
      if (sde && sde.prediction === 'eps') { const m = sde.marginalProb(s.cond / 999); return exactEps(m.mean, m.std, mu, v); }
      return exactScore(1, s.cond, mu, v);
    };
  }

  function moments(samples: Float32Array) {
    const mean = new Float64Array(D), variance = new Float64Array(D);
    for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) mean[j] += samples[k * D + j] / n;
    for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) variance[j] += (samples[k * D + j] - mean[j]) ** 2 / (n - 1);
    return { mean, variance };
  }

  // `bias`: the largest variance error against the data a sampler may show: for affine plans that of
  // its exact moments (the discretisation's own error, asserted on the plan), for the SNR rule's
  // chains (not affine) that of the samples, beyond sampling error; `meanTol` likewise, in units of √v
  type Case = { name: string; proc: () => DiscreteProcess; plan: (p: DiscreteProcess) => SamplerPlan; data: [number, number, number, number]; bias: number; meanTol?: number; nfe?: number };
  const ve = () => new SdeGrid(new VeSde(0.01, 20, 1000));
  const vp = () => new SdeGrid(new VpSde(0.1, 20, 1000));
  const subvp = () => new SdeGrid(new SubVpSde(0.1, 20, 1000));
  const VE_DATA: Case['data'] = [0.3, 0.7, 0.01, 0.05], VP_DATA: Case['data'] = [-0.5, 0.5, 0.1, 0.3];
  const cases: Case[] = [
    { name: 'PC reverse_diffusion + langevin, VE, N = 50', proc: ve, plan: (p) => pcPlan(p, { steps: 50 }), data: VE_DATA, bias: 0.15, nfe: 100 },
    { name: 'PC ancestral + langevin, VE, N = 50', proc: ve, plan: (p) => pcPlan(p, { steps: 50, predictor: 'ancestral' }), data: VE_DATA, bias: 0.15 },
    { name: 'PC euler_maruyama + langevin, VP, N = 50', proc: vp, plan: (p) => pcPlan(p, { steps: 50, predictor: 'euler_maruyama' }), data: VP_DATA, bias: 0.15 },
    // corrector only, a weak sampler: the SNR step shrinks as the chain lags (a larger score), so it needs
    // a short σ range and several steps a level; in float64 simulation it lands within ~5 % of √v in the
    // mean and 30–45 % in the variance (the chain's own bias at snr 0.25)
    { name: 'PC none + langevin (4 steps), VE σ 2 → 0.01, N = 40', proc: () => new SdeGrid(new VeSde(0.01, 2, 1000)), plan: (p) => pcPlan(p, { steps: 40, predictor: 'none', correctorSteps: 4, snr: 0.25 }), data: VE_DATA, bias: 0.45, meanTol: 0.12, nfe: 160 },
    { name: 'EM (euler_maruyama + none), VE, N = 100', proc: ve, plan: (p) => emPlan(p, { steps: 100 }), data: VE_DATA, bias: 0.1, nfe: 100 },
    { name: 'PC reverse_diffusion + none, VP, N = 50', proc: vp, plan: (p) => pcPlan(p, { steps: 50, corrector: 'none' }), data: VP_DATA, bias: 0.1, nfe: 50 },
    { name: 'PC ancestral + none, VP, N = 50', proc: vp, plan: (p) => pcPlan(p, { steps: 50, predictor: 'ancestral', corrector: 'none' }), data: VP_DATA, bias: 0.1 },
    { name: 'PC reverse_diffusion + ald, sub-VP, N = 50', proc: subvp, plan: (p) => pcPlan(p, { steps: 50, corrector: 'ald' }), data: VP_DATA, bias: 0.1 },
    // diffusers' spacing ends at index round((T − 1)/S) and jumps to x̂₀ = E[x₀ | x] there, whose variance is m²v/(m²v + s²)·v
    { name: 'DPM-Solver++(2M), DDPM (T = 250), 20 steps', proc: () => new DdpmProcess('linear', 250, 4e-4, 0.08), plan: (p) => dpmpp2mPlan(p, { steps: 20 }), data: VP_DATA, bias: 0.25, nfe: 20 },
    // the grid is uniform in t, so its first steps are long in λ for sub-VP: +15 % at 25 steps, ~1 % at 100
    { name: 'DPM-Solver++(2M), sub-VP, 60 steps', proc: subvp, plan: (p) => dpmpp2mPlan(p, { steps: 60 }), data: VP_DATA, bias: 0.08 },
    { name: 'DPM-Solver++(2M), VE, 20 steps', proc: ve, plan: (p) => dpmpp2mPlan(p, { steps: 20 }), data: VE_DATA, bias: 0.1 },
    // ρ = 7 spends few levels at VP's large σ (σ_max ≈ 152): +60 % at 10 levels, +14 % at 18, ~3 % at 30
    { name: 'Heun, VP, 30 levels', proc: vp, plan: (p) => heunPlan(p, { steps: 30 }), data: VP_DATA, bias: 0.06, nfe: 59 },
    // churn adds a little error per level: +13 % at 25 levels, +4 % at 40 (without churn +3 % at 25)
    { name: 'Heun with churn, NCSN (σ 20 → 0.01, 200 levels), 40 levels', proc: () => new NcsnProcess(20, 0.01, 200), plan: (p) => heunPlan(p, { steps: 40, churn: 10, sTmin: 0.05, sTmax: 5 }), data: VE_DATA, bias: 0.08 },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const p = c.proc();
      const [muLo, muHi, vLo, vHi] = c.data;
      const mu = r.uniform(D, muLo, muHi), v = r.uniform(D, vLo, vHi);
      const muT = Tensor.fromArray(d, mu, [1, ...shape]).keep(), vT = Tensor.fromArray(d, v, [1, ...shape]).keep();
      try {
        const net = p instanceof DdpmProcess ? ddpmNet(p, muT, vT) : exactNet(p, muT, vT);
        const plan = c.plan(p);
        if (c.nfe) expect(plan.steps.length).toBe(c.nfe);
        const res = await runPlan(d, net, plan, { n, shape, seed });
        expect(res.nfe).toBe(plan.steps.length);
        expect(res.samples.every(Number.isFinite), 'non-finite samples').toBe(true);
        const got = moments(res.samples);
        const affine = !plan.steps.some((s) => s.snr && s.snr.scale > 0);
        const se = Math.sqrt(2 / (n - 1)), meanTol = c.meanTol ?? 0.05;
        let chi2 = 0, worst = 0;
        for (let j = 0; j < D; j++) {
          if (affine) {
            // (1) the device ran the plan: samples against its exact moments, within sampling error (6σ a
            // pixel: 9 cases × 32 pixels × 2 checks at 5σ would fail a correct run about once in 2000, by the normal tail; Σ z² below still
            // catches a small shared bias)
            const ex = programMoments(plan, exactAt(p, mu[j], v[j]));
            const zm = (got.mean[j] - ex.mean) / Math.sqrt(ex.variance / n);
            chi2 += zm * zm;
            expect(Math.abs(zm), `pixel ${j}: mean ${got.mean[j]} vs the plan's exact ${ex.mean}`).toBeLessThan(6);
            expect(Math.abs(got.variance[j] / ex.variance - 1) / se, `pixel ${j}: variance ${got.variance[j]} vs the plan's exact ${ex.variance}`).toBeLessThan(6);
            // (2) the plan lands on the data, up to its discretisation error
            worst = Math.max(worst, Math.abs(ex.variance / v[j] - 1));
            expect(Math.abs(ex.mean - mu[j]) / Math.sqrt(v[j]), `pixel ${j}: the plan's exact mean ${ex.mean} vs data ${mu[j]}`).toBeLessThan(meanTol);
          } else {
            expect(Math.abs(got.mean[j] - mu[j]), `pixel ${j}: mean ${got.mean[j]} vs data ${mu[j]}`).toBeLessThan(5 * Math.sqrt(v[j] / n) + meanTol * Math.sqrt(v[j]));
            worst = Math.max(worst, Math.abs(got.variance[j] / v[j] - 1) - 5 * se);
          }
        }
        expect(worst, `the largest variance error against the data (${affine ? "the plan's exact moments" : 'samples, beyond 5 SE'})`).toBeLessThan(c.bias);
        if (affine) expect(chi2, 'Σ z² of the means').toBeLessThan(D + 6 * Math.sqrt(2 * D));
      } finally {
        muT.dispose();
        vT.dispose();
      }
    }, 120_000);
  }

  it('a DDPM model samples through every new sampler name (buildProcess from a run config), with finite samples and the reported NFE', async () => {
    const p = buildProcess({ kind: 'ddpm', schedule: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 });
    const mu = r.uniform(D, -0.5, 0.5), v = r.uniform(D, 0.1, 0.3);
    const muT = Tensor.fromArray(d, mu, [1, ...shape]).keep(), vT = Tensor.fromArray(d, v, [1, ...shape]).keep();
    // a DDPM net at fractional cond (PC and Heun feed t·999 and interpolated indices): ε̂ of the VP SDE at t = cond/999
    const sde = new VpSde(0.1, 20, 1000);
    const net = exactNet(new SdeGrid(sde), muT, vT);
    for (const [name, o, nfe] of [['em', { steps: 30 }, 30], ['pc', { steps: 30 }, 60], ['dpmpp2m', { steps: 8 }, 8], ['heun', { steps: 6 }, 11]] as const) {
      const plan = makePlan(name, p, { ...o, clip: false });
      expect(plan.steps.length, name).toBe(nfe);
      const res = await runPlan(d, net, plan, { n: 16, shape, seed });
      expect(res.samples.every(Number.isFinite), name).toBe(true);
    }
    muT.dispose();
    vT.dispose();
  }, 60_000);
});

describe('scoregpu sample with the new samplers (the shipped DDPM model)', () => {
  const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = (...args: string[]) => {
    const p = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
    });
    return { code: p.status, out: p.stdout, err: p.stderr };
  };
  const model = join(ROOT, 'models/fmnist-ddpm-small');

  it('heun with 2 levels draws 2 images in 3 evaluations and says so; bad predictor / too few VP steps / unknown sampler are one-line errors', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'scoregpu-heun-')), 's.npy');
    const s = cli('sample', '--run', model, '--sampler', 'heun', '--steps', '2', '--n', '2', '--out', out);
    expect(s.code, s.err + s.out).toBe(0);
    expect(s.out).toMatch(/2 images in .* 3 network evaluations each/);
    const arr = decodeNpy(new Uint8Array(readFileSync(out)), 's.npy');
    expect(arr.shape).toEqual([2, 1, 28, 28]);
    expect(Array.from(arr.data as Float32Array).every((x) => Number.isFinite(x) && x >= -1 && x <= 1)).toBe(true); // clipped x̂₀ by default for ddpm
    for (const [args, msg] of [
      [['--sampler', 'pc', '--predictor', 'midpoint'], /unknown predictor 'midpoint'; valid: euler_maruyama, reverse_diffusion, ancestral, none/],
      [['--sampler', 'pc', '--steps', '10'], /pc: a VP-type process needs more steps than β_max = 20/],
      [['--sampler', 'dpm'], /unknown sampler 'dpm'; valid: .*em, pc, dpmpp2m, heun/],
    ] as const) {
      const b = cli('sample', '--run', model, '--n', '2', ...args);
      expect(b.code, b.err).toBe(1);
      expect(b.err).toMatch(msg);
      expect(b.err.trim().split('\n').filter((l) => !/^Warning:/.test(l)).length, b.err).toBe(1);
    }
  }, 300_000);
});
