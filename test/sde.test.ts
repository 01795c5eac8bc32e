// The score SDEs (VE, VP, sub-VP) against float64 formulas written here from the paper (Song et al.
// 2021) and score_sde's sde_lib.py: drift, diffusion and marginals in closed form; the marginals
// against a long Euler–Maruyama simulation of the forward SDE; the discretisations in the small-step
// limit (and VP's = DDPM's, VE's = SMLD's); the time-grid view; the device columns and the
// continuous-time DSM loss on the GPU at fixed times and noise; the reverse SDE / probability-flow
// ODE with the exact score of Gaussian data (pointwise, and walked from the prior back to the data);
// and the CLI training a --process vp model and sampling it through its grid.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng, device, TEST_SEED } from '../kernels-tests/helpers.js';
import { VeSde, VpSde, SubVpSde, SdeGrid, buildSde, type Sde } from '../src/score/sde/index.js';
import { buildProcess, DdpmProcess, NcsnProcess, maxPairwiseDistance } from '../src/score/processes/index.js';
import { continuousDsmLoss, type Noise, type NoiseConditionalNet } from '../src/score/losses.js';
import { imageConfig, resolveImageConfig } from '../src/train/image_recipes.js';
import { trainImage } from '../src/train/image.js';
import { loadImageSet } from '../src/data/images.js';
import { Tensor } from '../src/tensor/tensor.js';
import { noGrad } from '../src/autograd/engine.js';
import * as op from '../src/autograd/ops.js';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';
import { exactEps, exactScore } from './score_refs.js';
import type { Device } from '../src/gpu/device.js';

const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();
const randInt = (lo: number, hi: number) => lo + Math.floor(r.next() * (hi - lo + 1)); // inclusive
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
/** Box–Muller on the seeded generator (float64). */
let spare: number | null = null;
function normal(): number {
  if (spare !== null) {
    const v = spare;
    spare = null;
    return v;
  }
  const u = 1 - r.next(), v = r.next(), rad = Math.sqrt(-2 * Math.log(u));
  spare = rad * Math.sin(2 * Math.PI * v);
  return rad * Math.cos(2 * Math.PI * v);
}

/** Closed forms from the paper / sde_lib.py, written independently of src/score/sde. */
const ref = {
  ve(sMin: number, sMax: number, t: number) {
    const sigma = sMin * (sMax / sMin) ** t;
    return { drift: 0, diffusion: sigma * Math.sqrt(2 * (Math.log(sMax) - Math.log(sMin))), mean: 1, std: sigma, cond: sigma };
  },
  vp(b0: number, b1: number, t: number) {
    const lmc = -0.25 * t * t * (b1 - b0) - 0.5 * t * b0, beta = b0 + t * (b1 - b0);
    return { drift: -0.5 * beta, diffusion: Math.sqrt(beta), mean: Math.exp(lmc), std: Math.sqrt(1 - Math.exp(2 * lmc)), cond: 999 * t };
  },
  subvp(b0: number, b1: number, t: number) {
    const lmc = -0.25 * t * t * (b1 - b0) - 0.5 * t * b0, beta = b0 + t * (b1 - b0);
    const discount = 1 - Math.exp(-2 * b0 * t - (b1 - b0) * t * t);
    return { drift: -0.5 * beta, diffusion: Math.sqrt(beta * discount), mean: Math.exp(lmc), std: 1 - Math.exp(2 * lmc), cond: 999 * t };
  },
};
function refOf(s: Sde, t: number) {
  if (s instanceof VeSde) return ref.ve(s.sigmaMin, s.sigmaMax, t);
  const b = s as VpSde;
  return s instanceof SubVpSde ? ref.subvp(b.betaMin, b.betaMax, t) : ref.vp(b.betaMin, b.betaMax, t);
}

/** n made-up 8×8 8-bit images (stripes plus noise) in a fresh temporary .npy. */
function makeNpy(n: number): string {
  const npy = join(mkdtempSync(join(tmpdir(), 'scoregpu-sde-')), 'blobs.npy');
  const imgs = new Uint8Array(n * 64).map((_, i) => ((i % 64) % 8 < 4 ? 200 : 30) + Math.floor(r.next() * 20));
  writeFileSync(npy, encodeNpy(imgs, [n, 8, 8]));
  return npy;
}

const defaults = (): Sde[] => [new VeSde(0.01, 50), new VpSde(), new SubVpSde()];
const randomSdes = (): Sde[] => {
  const b0 = uni(0.05, 0.5), b1 = uni(5, 30), N = randInt(50, 2000);
  return [new VeSde(uni(0.005, 0.05), uni(5, 100), N), new VpSde(b0, b1, N), new SubVpSde(b0, b1, N)];
};
const times = () => [1e-5, 1e-3, 0.5, 1, ...Array.from({ length: 20 }, () => uni(1e-6, 1))];

describe(`score SDEs on the CPU (seed ${TEST_SEED})`, () => {
  it('drift, diffusion, marginal mean/std and conditioning match the closed forms; prior N(0, σ_max²) for VE, N(0, 1) for VP/sub-VP', () => {
    for (const s of [...defaults(), ...randomSdes()]) {
      for (const t of times()) {
        const want = refOf(s, t), c = s.sde(t), m = s.marginalProb(t);
        if (want.drift === 0) expect(c.drift).toBe(0);
        else expect(rel(c.drift, want.drift), `${s.name} t=${t}`).toBeLessThan(1e-13);
        expect(rel(c.diffusion, want.diffusion), `${s.name} t=${t}`).toBeLessThan(1e-9);
        expect(rel(m.mean, want.mean), `${s.name} t=${t}`).toBeLessThan(1e-13);
        // the reference's 1 − exp(·) cancels at t = 1e-5 (~1e-16/1e-6): judged at 1e-8
        expect(rel(m.std, want.std), `${s.name} t=${t}`).toBeLessThan(1e-8);
        expect(rel(s.conditioning(t), want.cond), `${s.name} t=${t}`).toBeLessThan(1e-13);
      }
      expect(s.T).toBe(1);
      const D = randInt(1, 40), z = Array.from({ length: D }, () => normal() * s.priorStd);
      const sq = z.reduce((a, v) => a + v * v, 0);
      const logp = -D / 2 * Math.log(2 * Math.PI * s.priorStd ** 2) - sq / (2 * s.priorStd ** 2);
      expect(rel(s.priorLogp(sq, D), logp)).toBeLessThan(1e-12);
      const draws = s.priorSampling(4000, normal);
      const v = draws.reduce((a, x) => a + x * x, 0) / draws.length;
      expect(Math.abs(v / s.priorStd ** 2 - 1)).toBeLessThan(5 * Math.sqrt(2 / 4000));
    }
    expect(new VeSde(0.01, 50).priorStd).toBe(50);
    expect(new VpSde().priorStd).toBe(1);
    expect(new SubVpSde().priorStd).toBe(1);
  });

  it("the marginals solve the SDE's moment equations: dm/dt = f·m, d(s²)/dt = 2f·s² + g² (so sde() and marginalProb() agree)", () => {
    for (const s of [...defaults(), ...randomSdes()]) {
      for (let k = 0; k < 20; k++) {
        const t = uni(0.01, 0.99), h = 1e-6;
        const { drift, diffusion } = s.sde(t);
        const m = s.marginalProb(t), mp = s.marginalProb(t + h), mm = s.marginalProb(t - h);
        const dm = (mp.mean - mm.mean) / (2 * h), dv = (mp.std ** 2 - mm.std ** 2) / (2 * h);
        if (drift !== 0) expect(rel(dm, drift * m.mean), `${s.name} t=${t}`).toBeLessThan(1e-6);
        else expect(dm).toBe(0);
        expect(rel(dv, 2 * drift * m.std ** 2 + diffusion ** 2), `${s.name} t=${t}`).toBeLessThan(1e-5);
      }
    }
  });

  it('a long Euler–Maruyama simulation of the forward SDE reaches the closed-form moments (within 5 SE + the scheme\'s own bias)', () => {
    // data x(0) ~ N(μ, v) per path (VE: plus N(0, σ_min²), score_sde's convention that x(0) is σ_min-perturbed data)
    const mu = 0.7, v0 = 0.09, n = 20000, K = 1000, dt = 1 / K;
    const checks = [100, 250, 500, 1000]; // steps: t = 0.1, 0.25, 0.5, 1
    for (const s of [new VeSde(0.01, 10), new VpSde(), new SubVpSde()]) {
      const x = new Float64Array(n);
      const v00 = v0 + (s instanceof VeSde ? s.sigmaMin ** 2 : 0);
      for (let i = 0; i < n; i++) x[i] = mu + Math.sqrt(v00) * normal();
      let M = mu, V = v00; // the EM recursion's exact moments (its bias from the SDE is known exactly)
      for (let k = 0; k < K; k++) {
        const { drift, diffusion } = s.sde(k * dt), a = 1 + drift * dt, g = diffusion * Math.sqrt(dt);
        for (let i = 0; i < n; i++) x[i] = a * x[i] + g * normal();
        M *= a;
        V = a * a * V + g * g;
        if (!checks.includes(k + 1)) continue;
        const t = (k + 1) * dt, { mean: m, std: sd } = s.marginalProb(t);
        const wantM = m * mu, wantV = m * m * v0 + sd * sd;
        let sm = 0, sv = 0;
        for (let i = 0; i < n; i++) sm += x[i];
        sm /= n;
        for (let i = 0; i < n; i++) sv += (x[i] - sm) ** 2;
        sv /= n - 1;
        // the scheme converges to the SDE: its own bias is small
        expect(Math.abs(V - wantV) / wantV, `${s.name} t=${t}: EM variance bias`).toBeLessThan(0.02);
        const seM = Math.sqrt(wantV / n), seV = wantV * Math.sqrt(2 / n);
        expect(Math.abs(sm - wantM), `${s.name} t=${t}: mean ${sm} vs ${wantM}`).toBeLessThan(5 * seM + Math.abs(M - wantM) + 1e-12);
        expect(Math.abs(sv - wantV), `${s.name} t=${t}: variance ${sv} vs ${wantV}`).toBeLessThan(5 * seV + Math.abs(V - wantV));
      }
    }
  });

  it("discretize(t) tends to the SDE as N grows (f·N → f(t), G²·N → g(t)²); VP's chain is DDPM's β, VE's SMLD's σ levels", () => {
    for (const N of [1000, 100000]) {
      const sdes = [new VeSde(0.01, 50, N), new VpSde(0.1, 20, N), new SubVpSde(0.1, 20, N)];
      for (const s of sdes) {
        for (let k = 0; k < 30; k++) {
          const i = k === 0 ? N - 1 : randInt(1, N - 1), t = i / (N - 1); // grid times of score_sde's ⌊t(N − 1)⌋
          const { f, G } = s.discretize(t), { drift, diffusion } = s.sde(t);
          if (drift === 0) expect(f).toBe(0);
          else expect(rel(f * N, drift), `${s.name} N=${N} t=${t}`).toBeLessThan(10 / N);
          expect(rel(G * G * N, diffusion ** 2), `${s.name} N=${N} t=${t}`).toBeLessThan(10 / N);
        }
      }
    }
    const ddpm = new DdpmProcess('linear', 1000), vp = new VpSde();
    for (let i = 0; i < 1000; i++) {
      expect(rel(vp.discreteBetas[i], ddpm.betas[i])).toBeLessThan(1e-12);
      const { f, G } = vp.discretize(i / 999);
      expect(rel(f + 1, Math.sqrt(1 - ddpm.betas[i]))).toBeLessThan(1e-14);
      expect(rel(G, Math.sqrt(ddpm.betas[i]))).toBeLessThan(1e-14);
    }
    const ve = new VeSde(0.01, 37, 300), ncsn = new NcsnProcess(37, 0.01, 300);
    for (let i = 0; i < 300; i++) expect(rel(ve.discretize(i / 299).G, ncsn.discretize(i).g)).toBeLessThan(1e-10);
    expect(() => vp.discretize(1.5)).toThrow(RangeError);
  });

  it('the time-grid view: t_i = (i + 1)/N, marginals and conditioning of the SDE there, steps that compose to the marginals; built from a run config', () => {
    for (const s of [...defaults(), ...randomSdes()]) {
      const g = buildProcess(JSON.parse(JSON.stringify(s.describe()))) as SdeGrid;
      expect(g).toBeInstanceOf(SdeGrid);
      expect(g.N).toBe(s.N);
      expect(g.name).toBe(s.name);
      expect(g.prediction).toBe(s instanceof VeSde ? 'score' : 'eps');
      expect(g.dataRange).toBe(s instanceof VeSde ? '[0,1]' : '[-1,1]');
      expect(g.priorStd).toBe(s.priorStd);
      let mean = 1, v = 0;
      for (let i = 0; i < s.N; i++) {
        const t = (i + 1) / s.N;
        expect(g.marginal(i)).toEqual(s.marginalProb(t));
        expect(g.conditioning(i)).toBe(s.conditioning(t));
        const { a, g: gi } = g.discretize(i);
        mean *= a;
        v = a * a * v + gi * gi;
        if (i % 97 === 0 || i === s.N - 1) {
          expect(rel(mean, g.marginal(i).mean)).toBeLessThan(1e-10);
          expect(rel(v, g.marginal(i).std ** 2)).toBeLessThan(1e-9);
        }
      }
      expect(buildSde(s.describe() as never).describe()).toEqual(s.describe());
    }
  });

  it('VE: σ_max comes from the data by the NCSNv2 rule (largest pairwise distance) when not given; VP/sub-VP defaults β 0.1 → 20, N = 1000', () => {
    const n = 40, D = 16;
    const train = new Uint8Array(n * D).map(() => Math.floor(r.next() * 256));
    const set = { name: 'made-up', shape: [1, 4, 4] as [number, number, number], train, trainLabels: null, test: train, testLabels: null, classes: null };
    const cfg = resolveImageConfig(imageConfig({ process: 've', data: 'x.npy' }), set as never);
    const want = maxPairwiseDistance(Float32Array.from(train, (b) => b / 255), D);
    expect(cfg.process).toEqual({ kind: 've', sigmaMin: 0.01, sigmaMax: expect.closeTo(want, 5) as unknown as number, N: 1000 });
    expect(imageConfig({ process: 'vp' }).process).toEqual({ kind: 'vp', betaMin: 0.1, betaMax: 20, N: 1000 });
    expect(imageConfig({ process: 'subvp' }).process).toEqual({ kind: 'subvp', betaMin: 0.1, betaMax: 20, N: 1000 });
    expect(() => imageConfig({ process: 'ddpm', sdeLoss: { weighting: 'likelihood' } })).toThrow(/score SDEs/);
    expect(() => imageConfig({ process: 'vp', sdeLoss: { weighting: 'lh' as never } })).toThrow(/unknown loss weighting 'lh'/);
    expect(() => imageConfig({ process: 'sde' as never })).toThrow(/unknown process 'sde'.*ve, vp, subvp/);
  });
});

describe(`the reverse SDE and probability-flow ODE with the exact score of Gaussian data (seed ${TEST_SEED})`, () => {
  // data N(μ, v) per coordinate: under x = m·x₀ + s·z the exact network output is affine in x
  const mu = uni(-0.8, 0.8), v = uni(0.05, 0.5);
  const exactOut = (s: Sde, t: number) => {
    const { mean: m, std: sd } = s.marginalProb(t);
    return s.prediction === 'eps' ? exactEps(m, sd, mu, v) : exactScore(m, sd, mu, v);
  };

  it('drift = f·x − g²·∇log p_t(x) (SDE), f·x − ½g²·∇log p_t(x) (ODE), through the adapter; discretize likewise', () => {
    for (const s of [...defaults(), ...randomSdes()]) {
      for (const pf of [false, true]) {
        const rev = s.reverse(s.modelScore(), pf);
        expect(rev.probabilityFlow).toBe(pf);
        expect(rev.N).toBe(s.N);
        for (let k = 0; k < 20; k++) {
          const t = uni(1e-3, 1), { mean: m, std: sd } = s.marginalProb(t);
          const x = (uni(-3, 3) * Math.sqrt(m * m * v + sd * sd)) + m * mu;
          const { k: kk, k0 } = exactOut(s, t), out = kk * x + k0;
          const score = -(x - m * mu) / (m * m * v + sd * sd); // ∇ log N(x; mμ, m²v + s²)
          const lam = pf ? 0.5 : 1;
          const { drift, diffusion } = s.sde(t);
          const r1 = rev.sde(t), got = r1.drift.x * x + r1.drift.out * out, want = drift * x - lam * diffusion ** 2 * score;
          expect(Math.abs(got - want) / (Math.abs(drift * x) + Math.abs(lam * diffusion ** 2 * score)), `${s.name} pf=${pf} t=${t}`).toBeLessThan(1e-10);
          expect(r1.diffusion).toBe(pf ? 0 : diffusion);
          const { f, G } = s.discretize(t), r2 = rev.discretize(t);
          const gotF = r2.f.x * x + r2.f.out * out, wantF = f * x - lam * G * G * score;
          expect(Math.abs(gotF - wantF) / (Math.abs(f * x) + Math.abs(lam * G * G * score)), `${s.name} pf=${pf} t=${t}`).toBeLessThan(1e-10);
          expect(r2.G).toBe(pf ? 0 : G);
        }
      }
    }
  });

  it('walked from T back to t ≈ 0 (score_sde\'s reverse-diffusion steps on linspace(T, 1e-3, N)), both recover N(μ, v)', () => {
    // Every step is affine in x, so the chain's output moments follow exactly from its start. It
    // starts from the true marginal at T rather than the prior, so that what is measured is the
    // reverse dynamics (the prior's mean 0 vs m(T)·μ would add |μ|·√v/σ_max for VE's ODE).
    for (const s of [new VeSde(0.01, 50, 8000), new VpSde(0.1, 20, 8000), new SubVpSde(0.1, 20, 8000)]) {
      for (const pf of [false, true]) {
        const rev = s.reverse(s.modelScore(), pf);
        const end = s.marginalProb(s.T);
        let M = end.mean * mu, V = end.mean ** 2 * v + end.std ** 2;
        for (let i = 0; i < s.N; i++) {
          const t = s.T + ((1e-3 - s.T) * i) / (s.N - 1);
          const { f, G } = rev.discretize(t), { k, k0 } = exactOut(s, t);
          const A = 1 - f.x - f.out * k; // x ← x − rev_f(x) + G·z
          M = A * M - f.out * k0;
          V = A * A * V + G * G;
        }
        expect(Math.abs(M - mu), `${s.name} pf=${pf}: mean ${M} vs ${mu}`).toBeLessThan(0.01 * Math.sqrt(v));
        expect(Math.abs(V / v - 1), `${s.name} pf=${pf}: variance ${V} vs ${v}`).toBeLessThan(0.02);
      }
    }
  });
});

describe(`score SDEs on the device (seed ${TEST_SEED})`, () => {
  let d: Device;
  beforeAll(async () => {
    d = await device();
  });

  /** Times as the loss draws them: t = ε + (1 − ε)·k·2^−24 for 24-bit integers k. */
  const ks = [0, 1, 1000, 2 ** 23, 2 ** 24 - 1, ...Array.from({ length: 11 }, () => randInt(0, 2 ** 24 - 1))];
  const eps = 1e-5, tOf = (k: number) => eps + ((1 - eps) * k) / 2 ** 24;

  it('columns(t): m(t), s(t), the conditioning and g(t)² on the device match float64 at every t, down to t = ε (no f32 cancellation)', async () => {
    for (const s of [...defaults(), ...randomSdes()]) {
      const ts = ks.map(tOf);
      const got = await d.scope(() => {
        const t = Tensor.fromArray(d, Float32Array.from(ts), [ts.length, 1]);
        const c = noGrad(() => s.columns(t));
        return op.concat([c.mean, c.std, c.cond, c.g2], 1);
      }).toArray();
      ts.forEach((t0, i) => {
        const t = Math.fround(t0), m = s.marginalProb(t), g = s.sde(t).diffusion;
        const want = [m.mean, m.std, s.conditioning(t), g * g];
        want.forEach((w, j) => expect(rel(got[i * 4 + j], w), `${s.name} t=${t} column ${['mean', 'std', 'cond', 'g2'][j]}: ${got[i * 4 + j]} vs ${w}`).toBeLessThan(3e-6));
      });
    }
  });

  it('continuous-time DSM loss at fixed t and noise equals its float64 reference (λ = s² and g², mean and ½·sum over pixels)', async () => {
    const B = ks.length, shape = [B, 1, 3, 5], P = 15;
    const x0 = r.uniform(B * P, -1, 1), z = r.normal(B * P);
    // a made-up noise-conditional net, smooth in x and in its conditioning: out = 0.5x + 0.2·tanh(x) + 0.01·c
    const net: NoiseConditionalNet = { forward: (x, c) => op.add(op.add(op.scale(x, 0.5), op.scale(op.tanh(x), 0.2)), op.scale(op.reshape(c, [B, 1, 1, 1]), 0.01)) };
    for (const s of defaults()) {
      for (const weighting of ['std2', 'likelihood'] as const) {
        for (const reduction of ['mean', 'half-sum'] as const) {
          const calls: string[] = [];
          const noise: Noise = {
            randint: (sh, high) => (calls.push(`randint ${sh} ${high}`), Tensor.fromArray(d, Float32Array.from(ks), sh)),
            normal: (sh) => (calls.push(`normal ${sh}`), Tensor.fromArray(d, z, sh)),
            rademacher: () => {
              throw new Error('not used');
            },
          };
          const got = (await d.scope(() => noGrad(() => continuousDsmLoss(net, s, Tensor.fromArray(d, x0, shape), noise, { eps, weighting, reduction }))).toArray())[0];
          expect(calls).toEqual([`randint ${B},1 ${2 ** 24}`, `normal ${shape}`]);
          // float64: score_sde's get_sde_loss_fn with the network's score s_θ = adapter(out)
          let total = 0;
          for (let b = 0; b < B; b++) {
            const t = tOf(ks[b]), { mean: m, std: sd } = s.marginalProb(t), c = s.conditioning(t), g2 = s.sde(t).diffusion ** 2;
            let acc = 0;
            for (let p = 0; p < P; p++) {
              const xt = m * x0[b * P + p] + sd * z[b * P + p];
              const out = 0.5 * xt + 0.2 * Math.tanh(xt) + 0.01 * c;
              const score = s.prediction === 'eps' ? -out / sd : out;
              acc += weighting === 'std2' ? (score * sd + z[b * P + p]) ** 2 : (score + z[b * P + p] / sd) ** 2;
            }
            const red = reduction === 'mean' ? acc / P : 0.5 * acc;
            total += weighting === 'std2' ? red : red * g2;
          }
          const want = total / B;
          expect(rel(got, want), `${s.name} ${weighting} ${reduction}: ${got} vs ${want}`).toBeLessThan(1e-4);
        }
      }
    }
  });
});

describe('training VE and sub-VP models (in process, tiny U-Net)', () => {
  it('the recorded step replays with new times each step: finite losses that move; VE takes σ_max from the data', async () => {
    const d = await device();
    const set = loadImageSet(makeNpy(32));
    const TINY = { base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: false };
    for (const process of ['ve', 'subvp'] as const) {
      const cfg = imageConfig({ data: 'made-up', process, unet: TINY, steps: 4, batchSize: 4, seed: TEST_SEED % 1000, sdeLoss: { reduction: 'half-sum' } });
      const run = await trainImage(d, cfg, { out: mkdtempSync(join(tmpdir(), `scoregpu-${process}-`)), set, logEvery: 1, checkpointEvery: 1000 });
      run.trainer.dispose();
      const losses = run.lossHistory.map(([, l]) => l);
      expect(losses.length, process).toBe(4);
      expect(losses.every(Number.isFinite), `${process}: ${losses}`).toBe(true);
      expect(new Set(losses).size, `${process}: ${losses}`).toBe(4);
      if (process === 've') {
        const p = run.cfg.process as { kind: 've'; sigmaMax: number };
        const D = 64, all = Float32Array.from(set.train as Uint8Array, (b) => b / 255);
        expect(rel(p.sigmaMax, maxPairwiseDistance(all, D))).toBeLessThan(1e-6); // all 32 images are the subset
        expect((run.process as SdeGrid).sde.priorStd).toBe(p.sigmaMax);
      }
    }
  }, 300_000);
});

describe('scoregpu train --process vp', () => {
  const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = (...args: string[]) => {
    const p = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
    });
    return { code: p.status, out: p.stdout, err: p.stderr };
  };

  it('trains 20 steps on a made-up 8×8 .npy, saves the process, samples through the time grid (DDIM) and by default with em, refuses annealed Langevin in one line', () => {
    const npy = makeNpy(64), dir = dirname(npy);
    const out = join(dir, 'vp');
    const t = cli('train', '--data', npy, '--model', 'unet', '--process', 'vp', '--steps', '20', '--batch', '8', '--out', out, '--log-every', '10', '--sample-every', '1000', '--weighting', 'likelihood');
    expect(t.code, t.err + t.out).toBe(0);
    expect(t.err).toMatch(/process vp \(β\(t\) 0\.1 → 20, N = 1000\)/);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg.process).toEqual({ kind: 'vp', betaMin: 0.1, betaMax: 20, N: 1000 });
    expect(cfg.sdeLoss).toEqual({ weighting: 'likelihood' });
    const loss = readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
    expect(loss.length).toBe(2);
    expect(loss.every(Number.isFinite)).toBe(true);
    const s = cli('sample', '--run', out, '--sampler', 'ddim', '--steps', '4', '--n', '3', '--out', join(out, 's.npy'));
    expect(s.code, s.err + s.out).toBe(0);
    // no --sampler: score_sde's VP default, Euler–Maruyama without a corrector (`em`), N = --steps
    const em = cli('sample', '--run', out, '--steps', '25', '--n', '2');
    expect(em.code, em.err + em.out).toBe(0);
    expect(em.out).toMatch(/2 images in .* 25 network evaluations each.*samples_em\.png/);
    const arr = decodeNpy(new Uint8Array(readFileSync(join(out, 's.npy'))), 's.npy');
    expect(arr.shape).toEqual([3, 1, 8, 8]);
    expect(Array.from(arr.data as Float32Array).every(Number.isFinite)).toBe(true);
    const bad = cli('sample', '--run', out, '--sampler', 'annealed', '--n', '2');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/sampler 'annealed' \(annealed Langevin\) needs a variance-exploding process such as NCSN; this model's process is 'vp' — use 'ancestral' or 'ddim'/);
    expect(bad.err).not.toMatch(/\n\s+at /); // one line, no stack trace
  }, 300_000);
});
