// The probability-flow ODE and exact likelihoods (issue 12, items 4–5), on the GPU against known answers:
//  - the solvers on linear ODEs with closed-form solutions, run through the same device code path as
//    the sampler (state combinations, the weighted error norm): RK45 meets its tolerance; Euler and
//    Heun equal their own float64 recursions and converge at orders 1 and 2;
//  - the probability-flow sampler (RK45, Euler, Heun) with the exact network of Gaussian data for VE,
//    VP and sub-VP: sample moments against the exact flow map from the prior (and, for the fixed-step
//    methods, against the scheme's own float64 recursion);
//  - the likelihood of points under the exact score of Gaussian data equals the analytic log-density
//    (VE and VP), and bits/dim adds the dequantisation, the prior and score_sde's offset correctly;
//  - the Hutchinson estimate's mean over many probes equals the exact divergence of a small MLP
//    (computed by D vector–Jacobian products, and by float64 finite differences);
//  - the CLI: sample --sampler ode, eval --bpd and their one-line errors on a tiny VP model.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { noGrad } from '../src/autograd/engine.js';
import { VeSde, VpSde, SubVpSde, type Sde } from '../src/score/sde/index.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';
import { dopri5, euler, heun, type Field, type State } from '../src/score/sampling/ode/index.js';
import { sampleFlow } from '../src/score/sampling/ode/flow.js';
import { hutchinsonDivergence, logLikelihood, bitsPerDim, bitsPerDimBatch, dequantize, drawProbe } from '../src/score/likelihood.js';
import { imageConfig } from '../src/train/image_recipes.js';
import { trainImage } from '../src/train/image.js';
import { loadImageSet } from '../src/data/images.js';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});
const r = rng(TEST_SEED);
const uni = (lo: number, hi: number) => lo + (hi - lo) * r.next();

// ------------------------------------------------------------------ a linear ODE with a known solution
// u' = a(t)·u (a(t) = α·cos(ωt) + β), and a rotation p' = κ·q, q' = −κ·p: three tensors of odd sizes.
function linearProblem() {
  const al = uni(0.5, 2), om = uni(2, 6), be = uni(-1, 1), ka = uni(1, 4);
  const u0 = r.uniform(15, -2, 2), p0 = r.uniform(7, -2, 2), q0 = r.uniform(7, -2, 2);
  const a = (t: number) => al * Math.cos(om * t) + be;
  const Aint = (t: number) => (al * Math.sin(om * t)) / om + be * t;
  const field: Field = (t, [u, p, q]) => [op.scale(u, a(t)), op.scale(q, ka), op.scale(p, -ka)];
  const exact = (t0: number, t1: number) => {
    const g = Math.exp(Aint(t1) - Aint(t0)), c = Math.cos(ka * (t1 - t0)), s = Math.sin(ka * (t1 - t0));
    return [Array.from(u0, (v) => v * g), Array.from(p0, (v, i) => v * c + q0[i] * s), Array.from(q0, (v, i) => v * c - p0[i] * s)];
  };
  const y0 = (): State => [Tensor.fromArray(d, u0, [3, 5]).keep(), Tensor.fromArray(d, p0, [7]).keep(), Tensor.fromArray(d, q0, [7]).keep()];
  return { field, exact, y0, a, ka, u0, p0, q0 };
}
const read = async (y: State) => Promise.all(y.map(async (t) => Array.from(await t.toArray())));

describe(`ODE solvers on the device (seed ${TEST_SEED})`, () => {
  it('RK45 (Dormand–Prince 5(4)) meets its tolerance on a linear ODE with a known solution, both directions; tighter tolerances cost more evaluations', async () => {
    const P = linearProblem();
    for (const [t0, t1] of [[1, 1e-3], [0.2, 1.7]]) {
      let prevNfe = 0, prevWorst = Infinity;
      for (const tol of [1e-3, 1e-5]) {
        const y0 = P.y0();
        const sol = await dopri5(d, P.field, y0, t0, t1, { rtol: tol, atol: tol });
        const got = await read(sol.y), want = P.exact(t0, t1);
        let worst = 0;
        got.forEach((g, c) => g.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[c][i]) / (tol + tol * Math.abs(want[c][i]))))));
        // a local-error controller keeps the global error within a small multiple of the tolerance
        // (the growth e^{∫a} over the span amplifies early local errors), and it shrinks with the tolerance
        expect(worst, `t ${t0} → ${t1}, tol ${tol}: error/(atol + rtol|y|) = ${worst}`).toBeLessThan(20);
        if (tol === 1e-5) expect(worst * 1e-5, `t ${t0} → ${t1}: global error at tol 1e-5 vs 1e-3`).toBeLessThan(prevWorst * 1e-3 / 10);
        prevWorst = worst;
        expect(sol.nfe, `nfe = 2 + 6 per attempted step`).toBe(2 + 6 * (sol.accepted + sol.rejected));
        expect(sol.nfe).toBeGreaterThan(prevNfe);
        prevNfe = sol.nfe;
        [...sol.y, ...y0].forEach((t) => t.dispose());
      }
    }
  });

  it('Euler and Heun equal their float64 recursions and converge at orders 1 and 2', async () => {
    const P = linearProblem();
    const t0 = 0.9, t1 = 0.05;
    const want = P.exact(t0, t1);
    /** float64: the same fixed-step scheme on the same problem. */
    const ref = (method: 'euler' | 'heun', S: number) => {
      let u = Array.from(P.u0), p = Array.from(P.p0), q = Array.from(P.q0);
      const h = (t1 - t0) / S;
      const f = (t: number, [U, Pp, Q]: number[][]) => [U.map((v) => P.a(t) * v), Q.map((v) => P.ka * v), Pp.map((v) => -P.ka * v)];
      for (let k = 0; k < S; k++) {
        const t = t0 + k * h, y = [u, p, q], k1 = f(t, y);
        if (method === 'euler') [u, p, q] = y.map((c, j) => c.map((v, i) => v + h * k1[j][i]));
        else {
          const k2 = f(t + h, y.map((c, j) => c.map((v, i) => v + h * k1[j][i])));
          [u, p, q] = y.map((c, j) => c.map((v, i) => v + (h / 2) * (k1[j][i] + k2[j][i])));
        }
      }
      return [u, p, q];
    };
    const err = (got: number[][]) => Math.sqrt(got.flat().reduce((s, v, i) => s + (v - want.flat()[i]) ** 2, 0) / want.flat().reduce((s, v) => s + v * v, 0));
    for (const [method, solve, S, order] of [['euler', euler, 24, 1], ['heun', heun, 12, 2]] as const) {
      const errs: number[] = [];
      for (const steps of [S, 2 * S]) {
        const y0 = P.y0();
        const sol = await solve(d, P.field, y0, t0, t1, { steps });
        const got = await read(sol.y);
        expect(sol.nfe).toBe(method === 'euler' ? steps : 2 * steps);
        const rf = ref(method, steps);
        const dev = Math.sqrt(got.flat().reduce((s, v, i) => s + (v - rf.flat()[i]) ** 2, 0) / rf.flat().reduce((s, v) => s + v * v, 0));
        expect(dev, `${method} ${steps} steps vs its float64 recursion`).toBeLessThan(2e-6);
        errs.push(err(got));
        [...sol.y, ...y0].forEach((t) => t.dispose());
      }
      const ratio = errs[0] / errs[1];
      expect(ratio, `${method}: error ratio at S and 2S steps ${errs}`).toBeGreaterThan(2 ** order * 0.8);
      expect(ratio).toBeLessThan(2 ** order * 1.25);
    }
  });
});

// ------------------------------------------------------------------ the exact network of Gaussian data
// data x₀ ~ N(μ, diag v) over [2, 2, 3] images; under x = m·x₀ + s·z the exact ε is s·(x − mμ)/(m²v + s²)
// (VP, sub-VP; m, s from the SDE's own device columns at t = cond/999) and the exact score
// (μ − x)/(v + σ²) for VE (cond = σ).
const shape = [2, 2, 3], D = 12;
function gaussian(muLo = -0.6, muHi = 0.6) {
  const mu = r.uniform(D, muLo, muHi), v = r.uniform(D, 0.05, 0.4);
  return { mu, v, muT: Tensor.fromArray(d, mu, [1, ...shape]).keep(), vT: Tensor.fromArray(d, v, [1, ...shape]).keep() };
}
type Data = ReturnType<typeof gaussian>;
function exactNet(sde: Sde, g: Data): NoiseConditionalNet {
  return {
    forward(x, cond) {
      const B = x.shape[0], col = (c: Tensor) => op.reshape(c, [B, 1, 1, 1]);
      if (sde instanceof VeSde) {
        const s = col(cond);
        return op.div(op.sub(g.muT, x), op.add(g.vT, op.mul(s, s)));
      }
      const c = noGrad(() => sde.columns(op.scale(cond, 1 / 999)));
      const m = col(c.mean), s = col(c.std);
      return op.div(op.mul(s, op.sub(x, op.mul(m, g.muT))), op.add(op.mul(op.mul(m, m), g.vT), op.mul(s, s)));
    },
  };
}
/** Per pixel j, the marginal at t: mean m·μ_j and variance m²v_j + s². */
const marg = (sde: Sde, g: Data, t: number, j: number) => {
  const { mean: m, std: s } = sde.marginalProb(t);
  return { M: m * g.mu[j], V: m * m * g.v[j] + s * s };
};
/** The exact network output at t as out = k·x + k0 (float64). */
function outAffine(sde: Sde, g: Data, t: number, j: number) {
  const { mean: m, std: s } = sde.marginalProb(t), V = m * m * g.v[j] + s * s;
  return sde.prediction === 'eps' ? { k: s / V, k0: (-s * m * g.mu[j]) / V } : { k: -1 / V, k0: (m * g.mu[j]) / V };
}

function moments(x: Float32Array, n: number) {
  const mean = new Float64Array(D), variance = new Float64Array(D);
  for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) mean[j] += x[k * D + j] / n;
  for (let k = 0; k < n; k++) for (let j = 0; j < D; j++) variance[j] += (x[k * D + j] - mean[j]) ** 2 / (n - 1);
  return { mean, variance };
}

describe(`the probability-flow ODE sampler with the exact score of Gaussian data (seed ${TEST_SEED})`, () => {
  const n = 2000, eps = 1e-3;
  const sdes = () => [new VeSde(0.01, uni(20, 60)), new VpSde(), new SubVpSde(uni(0.05, 0.2), uni(15, 25))];

  it('RK45 (with the final denoising step), Euler and Heun map the prior to the data Gaussian: moments as the exact flow map (and the schemes\' own recursions)', async () => {
    for (const sde of sdes()) {
      const g = gaussian(), net = exactNet(sde, g);
      const rev = sde.reverse(sde.modelScore(), true), T = sde.T;
      // RK45 on every SDE; the fixed-step methods (checked against their own recursions) on one each
      const runs = sde instanceof VpSde ? [['rk45', 0], ['euler', 100]] as const : sde instanceof VeSde ? [['rk45', 0], ['heun', 60]] as const : [['rk45', 0]] as const;
      for (const [method, steps] of runs) {
        const denoise = method === 'rk45';
        const res = await sampleFlow(d, net, sde, { n, shape, seed: (TEST_SEED % 100000) + 7, method, steps, eps, denoise });
        const got = moments(res.samples, n);
        for (let j = 0; j < D; j++) {
          // the exact flow of the ODE is affine: x_ε = M_ε + √(V_ε/V_T)·(x_T − M_T), x_T ~ N(0, P²)
          const e = marg(sde, g, eps, j), Tm = marg(sde, g, T, j), P2 = sde.priorStd ** 2;
          let A = Math.sqrt(e.V / Tm.V), B0 = e.M - A * Tm.M; // x_ε = A·x_T + B0
          if (method !== 'rk45') {
            // the scheme's own map: each step x ← x + h·(dx·x + do·(k·x + k0)) (Euler) or Heun's average
            A = 1;
            B0 = 0;
            const h = (eps - T) / steps;
            const lin = (t: number) => {
              const dr = rev.sde(t).drift, o = outAffine(sde, g, t, j);
              return { a: dr.x + dr.out * o.k, b: dr.out * o.k0 }; // f̃(x, t) = a·x + b
            };
            for (let k = 0; k < steps; k++) {
              const t = T + k * h, l1 = lin(t);
              if (method === 'euler') {
                A = (1 + h * l1.a) * A;
                B0 = (1 + h * l1.a) * B0 + h * l1.b;
              } else {
                const l2 = lin(t + h); // y + h/2·(f(t, y) + f(t + h, y + h·f(t, y)))
                const c = 1 + (h / 2) * (l1.a + l2.a * (1 + h * l1.a)), c0 = (h / 2) * (l1.b + l2.a * h * l1.b + l2.b);
                A = c * A;
                B0 = c * B0 + c0;
              }
            }
            // the scheme is consistent: its map is close to the exact flow's
            const exA = Math.sqrt(e.V / Tm.V);
            expect(Math.abs(A / exA - 1), `${sde.name} ${method}: the scheme's gain vs the flow's`).toBeLessThan(0.04);
          } else {
            // denoising: x ← (1 − f.x)·x − f.out·(k·x + k0) at ε
            const { f } = sde.reverse(sde.modelScore(), false).discretize(eps), o = outAffine(sde, g, eps, j);
            const c = 1 - f.x - f.out * o.k;
            A *= c;
            B0 = c * B0 - f.out * o.k0;
          }
          const wantM = B0, wantV = A * A * P2;
          const seM = Math.sqrt(wantV / n), seV = wantV * Math.sqrt(2 / (n - 1));
          expect(Math.abs(got.mean[j] - wantM), `${sde.name} ${method} pixel ${j}: mean ${got.mean[j]} vs ${wantM}`).toBeLessThan(5 * seM + 1e-4);
          expect(Math.abs(got.variance[j] - wantV), `${sde.name} ${method} pixel ${j}: variance ${got.variance[j]} vs ${wantV}`).toBeLessThan(5 * seV + 1e-4 * wantV);
          if (method !== 'rk45') continue;
          // and that is the data Gaussian (up to the prior's mismatch, the ε-marginal and the denoising step;
          // the variance's 0.15 was 4.7 SE at n = 2000, on 36 pixels: a margin plus 5 SE, as the mean's)
          expect(Math.abs(got.variance[j] / g.v[j] - 1), `${sde.name} ${method} pixel ${j}: variance ${got.variance[j]} vs data ${g.v[j]}`).toBeLessThan(0.05 + 5 * Math.sqrt(2 / (n - 1)));
          expect(Math.abs(got.mean[j] - g.mu[j]), `${sde.name} ${method} pixel ${j}: mean vs data`).toBeLessThan(0.05 + 5 * seM);
        }
        expect(res.nfe, `${sde.name} ${method}`).toBe(method === 'euler' ? steps : method === 'heun' ? 2 * steps : 2 + 6 * (res.accepted + res.rejected) + 1);
      }
    }
  }, 120_000);
});

describe(`exact likelihood under the exact score of Gaussian data (seed ${TEST_SEED})`, () => {
  /** log N(x; M, V) summed over pixels. */
  const logN = (xs: number[], M: number[], V: number[]) => xs.reduce((s, x, j) => s - 0.5 * Math.log(2 * Math.PI * V[j]) - ((x - M[j]) ** 2) / (2 * V[j]), 0);
  /** What the ODE gives exactly: log p_ε(x) − log p_T(z) + log prior(z), z the flow of x to T (the prior differs slightly from p_T). */
  function analytic(sde: Sde, g: Data, xs: number[], eps: number) {
    const e = Array.from({ length: D }, (_, j) => marg(sde, g, eps, j)), T = Array.from({ length: D }, (_, j) => marg(sde, g, sde.T, j));
    const z = xs.map((x, j) => T[j].M + Math.sqrt(T[j].V / e[j].V) * (x - e[j].M));
    const P = sde.priorStd ** 2;
    return logN(xs, e.map((q) => q.M), e.map((q) => q.V)) - logN(z, T.map((q) => q.M), T.map((q) => q.V)) + logN(z, z.map(() => 0), z.map(() => P));
  }

  it('log p(x) by the augmented ODE (RK45, Rademacher probes: exact for this diagonal Jacobian) equals the analytic log-density, VE and VP', async () => {
    for (const sde of [new VeSde(0.01, uni(20, 60)), new VpSde()]) {
      const g = gaussian(), B = 5;
      const xs = Array.from({ length: B }, () => Array.from({ length: D }, (_, j) => g.mu[j] + Math.sqrt(g.v[j]) * 1.5 * (2 * r.next() - 1)));
      const x = Tensor.fromArray(d, xs.flat(), [B, ...shape]).keep();
      const res = await logLikelihood(d, exactNet(sde, g), sde, x, { probe: 'rademacher', seed: TEST_SEED % 1000 });
      x.dispose();
      for (let b = 0; b < B; b++) {
        const want = analytic(sde, g, xs[b], 1e-5);
        expect(Math.abs(res.logp[b] - want), `${sde.name} image ${b}: log p ${res.logp[b]} vs ${want}`).toBeLessThan(2e-3 * D);
      }
      expect(res.nfe).toBeGreaterThan(8);
    }
  }, 60_000);

  it('bits/dim: dequantised 8-bit images, the [−1, 1] offset (VP) and none for [0, 1] (VE)', async () => {
    for (const sde of [new VpSde(), new VeSde(0.01, 30)]) {
      const lo = sde.dataRange === '[-1,1]' ? -0.5 : 0.25, hi = sde.dataRange === '[-1,1]' ? 0.5 : 0.75;
      const g = gaussian(lo, hi), B = 3, seed = 1 + (TEST_SEED % 997);
      const bytes = Uint8Array.from({ length: B * D }, () => Math.floor(r.next() * 256));
      const res = await bitsPerDim(d, exactNet(sde, g), sde, bytes, shape, { seed, batch: B });
      // image i is dequantised by row i of one draw under the seed, whatever the batching: read what the model saw
      const x = dequantize(d, bytes, [B, ...shape], sde.dataRange, seed);
      const xs = Array.from(await x.toArray());
      x.dispose();
      for (let b = 0; b < B; b++) {
        const row = xs.slice(b * D, (b + 1) * D);
        row.forEach((v, j) => {
          const y = sde.dataRange === '[-1,1]' ? (v + 1) / 2 : v; // back to [0, 1]
          expect(y * 256 - bytes[b * D + j], 'dequantisation noise in [0, 1)').toBeGreaterThanOrEqual(-1e-3);
          expect(y * 256 - bytes[b * D + j]).toBeLessThan(1 + 1e-3);
        });
        // the density of y = (k + u)/256 on [0, 1]: log p_y = log p_x + D·log(dx/dy); bits per pixel of the 1/256 bins
        const logpY = analytic(sde, g, row, 1e-5) + (sde.dataRange === '[-1,1]' ? D * Math.log(2) : 0);
        const want = -logpY / (D * Math.LN2) + 8;
        expect(Math.abs(res.bpd[b] - want), `${sde.name} image ${b}: ${res.bpd[b]} vs ${want} bits/dim`).toBeLessThan(1e-3);
      }
      expect(res.nfe.length).toBe(1);
      // one image at a time (other solves, same noise and probes per image): the same bits/dim up to the solver's error
      const single = await bitsPerDim(d, exactNet(sde, g), sde, bytes, shape, { seed, batch: 1 });
      expect(single.nfe.length).toBe(B);
      for (let b = 0; b < B; b++) expect(Math.abs(single.bpd[b] - res.bpd[b]), `${sde.name} image ${b} alone vs in the batch`).toBeLessThan(1e-3);
      // and the last image alone, keyed by its index in the set
      const last = await bitsPerDimBatch(d, exactNet(sde, g), sde, bytes, shape, B - 1, 1, { seed });
      expect(Math.abs(last.bpd[0] - res.bpd[B - 1])).toBeLessThan(1e-3);
    }
  }, 60_000);
});

describe(`the Hutchinson–Skilling divergence estimate (seed ${TEST_SEED})`, () => {
  it('its mean over many probes equals the exact divergence of a small MLP (D VJPs; float64 finite differences), for Rademacher and Gaussian probes', async () => {
    const Dm = 7, H = 13;
    const W1 = r.uniform(Dm * H, -0.6, 0.6), b1 = r.uniform(H, -0.5, 0.5), W2 = r.uniform(H * Dm, -0.6, 0.6), b2 = r.uniform(Dm, -0.5, 0.5);
    const x0 = r.uniform(Dm, -1, 1);
    const t = [Tensor.fromArray(d, W1, [Dm, H]), Tensor.fromArray(d, b1, [H]), Tensor.fromArray(d, W2, [H, Dm]), Tensor.fromArray(d, b2, [Dm])].map((q) => q.keep());
    const mlp = (x: Tensor) => op.linear(op.tanh(op.linear(x, t[0], t[1])), t[2], t[3]);
    // float64 reference: central differences of the same MLP
    const f64 = (x: number[]) => {
      const h = Array.from({ length: H }, (_, k) => Math.tanh(x.reduce((s, v, i) => s + v * W1[i * H + k], b1[k])));
      return Array.from({ length: Dm }, (_, j) => h.reduce((s, v, k) => s + v * W2[k * Dm + j], b2[j]));
    };
    let fd = 0;
    for (let i = 0; i < Dm; i++) {
      const e = 1e-5, xp = Array.from(x0), xm = Array.from(x0);
      xp[i] += e;
      xm[i] -= e;
      fd += (f64(xp)[i] - f64(xm)[i]) / (2 * e);
    }
    // exact: D vector–Jacobian products with the basis vectors (row i probes e_i: row i returns J_ii)
    const rows = (k: number) => Tensor.fromArray(d, Array.from({ length: k }, () => Array.from(x0)).flat(), [k, Dm]);
    const exact = await d.scope(() => {
      const eye = Tensor.fromArray(d, Array.from({ length: Dm * Dm }, (_, k) => (k % (Dm + 1) === 0 ? 1 : 0)), [Dm, Dm]);
      return hutchinsonDivergence(mlp, rows(Dm), eye).div;
    }).toArray();
    const trace = exact.reduce((s, v) => s + v, 0);
    expect(Math.abs(trace - fd), `tr J by VJPs ${trace} vs finite differences ${fd}`).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
    const K = 20000;
    const sumAbs = exact.reduce((s, v) => s + Math.abs(v), 0); // a wrong or missing diagonal term moves the trace by ~ this/D
    for (const kind of ['rademacher', 'gaussian'] as const) {
      const est = await d.scope(() => hutchinsonDivergence(mlp, rows(K), drawProbe(d, [K, Dm], kind, TEST_SEED % 100000)).div).toArray();
      const mean = est.reduce((s, v) => s + v, 0) / K;
      const sd = Math.sqrt(est.reduce((s, v) => s + (v - mean) ** 2, 0) / (K - 1));
      expect(sd, `${kind}: the probes vary`).toBeGreaterThan(0);
      expect(Math.abs(mean - trace), `${kind}: mean ${mean} ± ${sd / Math.sqrt(K)} vs tr J ${trace}`).toBeLessThan(5 * sd / Math.sqrt(K));
      expect(sd / Math.sqrt(K), `${kind}: the test can tell a wrong trace`).toBeLessThan((0.3 * sumAbs) / Dm);
    }
    t.forEach((q) => q.dispose());
  });
});

describe('scoregpu sample/eval --sampler ode and eval --bpd (a tiny VP model trained in process)', () => {
  const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = (...args: string[]) => {
    const p = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
    });
    return { code: p.status, out: p.stdout, err: p.stderr };
  };

  it('samples with Heun (finite .npy, NFE reported), writes eval_bpd.json (mean, standard error, NFE, time), and refuses bad settings in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-ode-'));
    const npy = join(dir, 'blobs.npy');
    const imgs = Uint8Array.from({ length: 40 * 64 }, (_, i) => ((i % 64) % 8 < 4 ? 200 : 30) + Math.floor(r.next() * 20));
    writeFileSync(npy, encodeNpy(imgs, [40, 8, 8]));
    const TINY = { base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: false };
    const out = join(dir, 'vp');
    const cfg = imageConfig({ data: npy, process: 'vp', unet: TINY, steps: 2, batchSize: 4, seed: TEST_SEED % 1000 });
    const run = await trainImage(d, cfg, { out, set: loadImageSet(npy), logEvery: 1, checkpointEvery: 1000 });
    run.trainer.dispose();

    const s = cli('sample', '--run', out, '--sampler', 'ode', '--method', 'heun', '--steps', '3', '--n', '3', '--out', join(out, 's.npy'));
    expect(s.code, s.err + s.out).toBe(0);
    expect(s.out).toMatch(/3 images in [\d.]+ s .* 7\.0 network evaluations each/); // 2·3 + the denoising step
    const arr = decodeNpy(new Uint8Array(readFileSync(join(out, 's.npy'))), 's.npy');
    expect(arr.shape).toEqual([3, 1, 8, 8]);
    expect(Array.from(arr.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(readFileSync(join(out, 's.png')).subarray(1, 4).toString()).toBe('PNG'); // the grid beside it

    const b = cli('eval', '--run', out, '--bpd', '--n', '2', '--batch', '1', '--rtol', '1e-2', '--atol', '1e-2', '--probe', 'gaussian');
    expect(b.code, b.err + b.out).toBe(0);
    const rep = JSON.parse(readFileSync(join(out, 'eval_bpd.json'), 'utf8'));
    expect(rep.n).toBe(2);
    expect(rep.perImage.length).toBe(2);
    const [u, v] = rep.perImage;
    expect(Math.abs(rep.bpd - (u + v) / 2)).toBeLessThan(1e-4);
    expect(Math.abs(rep.stderr - Math.abs(u - v) / 2)).toBeLessThan(1e-4); // sd/√n for n = 2
    expect(rep.bpd).toBeGreaterThan(0);
    expect(rep.nfePerBatch.length).toBe(2);
    expect(rep.nfeMean).toBeGreaterThan(2);
    expect(rep.seconds).toBeGreaterThan(0);
    expect(rep).toMatchObject({ probe: 'gaussian', offset: 1, process: 'vp', rtol: 0.01, atol: 0.01 });
    expect(b.err).toMatch(/bits\/dim \(vp, gaussian probe\), n=2/); // the progress bar

    // resumable: a larger --n with the same settings computes only the new image, whatever --batch
    const c = cli('eval', '--run', out, '--bpd', '--n', '3', '--batch', '2', '--rtol', '1e-2', '--atol', '1e-2', '--probe', 'gaussian');
    expect(c.code, c.err + c.out).toBe(0);
    expect(c.err).toMatch(/2 of 3 images already in .*eval_bpd\.batches\.json; 1 to go in 1 batch/);
    const rep3 = JSON.parse(readFileSync(join(out, 'eval_bpd.json'), 'utf8'));
    expect(rep3.perImage.slice(0, 2)).toEqual([u, v]);
    expect(rep3).toMatchObject({ n: 3, resumedImages: 2, imagesPerBatch: [1, 1, 1] });
    expect(rep3.nfePerBatch.slice(0, 2)).toEqual(rep.nfePerBatch);

    for (const [args, msg] of [
      [['sample', '--run', out, '--sampler', 'ode', '--steps', '4'], /--steps is for --method euler or heun/],
      [['eval', '--run', out, '--bpd', '--probe', 'uniform'], /unknown --probe 'uniform'; valid: rademacher, gaussian/],
      [['eval', '--run', out, '--bpd', '--n', '3', '--rtol', '1e-3', '--atol', '1e-2', '--probe', 'gaussian'], /eval_bpd\.batches\.json: holds bits\/dim computed under other settings \(rtol: 0\.01 there, 0\.001 now\).*--fresh/],
    ] as const) {
      const e = cli(...args);
      expect(e.code, args.join(' ')).toBe(1);
      expect(e.err).toMatch(msg);
      expect(e.err).not.toMatch(/\n\s+at /);
    }
  }, 300_000);
});
