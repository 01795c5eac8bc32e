// Classifier guidance (src/score/guidance/classifier.ts) on a tiny noise-conditional classifier
// (1×8×8 images, 4/8 channels, 5 classes, fresh random weights each run):
//  - ∇ₓ log p_φ(y | x, cond), computed on the GPU by our autograd inside noGrad (as samplers run),
//    against central differences of the classifier's float64 CPU reference (test/noise_classifier_ref.ts);
//  - the marginal (m, s) the wrapper computes on the device from the noise-level input, for DDPM
//    (integer and fractional indices), NCSN, VP and VE, against the processes' own float64 values;
//  - the guided output out' = out + s·g/co against a CPU reference for ε- and score-predicting processes;
//  - whole chains through runPlan (DDIM and Heun, deterministic) with the guided net: the recorded
//    step with a backward inside, replayed, against the same plan simulated on the CPU.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { noGrad } from '../src/autograd/engine.js';
import { randn } from '../src/tensor/ops/random.js';
import { materialize } from '../src/nn/module.js';
import { createNoiseClassifier, type NoiseClassifier } from '../src/nn/noise_classifier.js';
import { DdpmProcess, NcsnProcess, buildProcess, type DiscreteProcess } from '../src/score/processes/index.js';
import { adapt } from '../src/score/adapter.js';
import { noiseLevel } from '../src/score/sampling/karras.js';
import { ddimPlan, heunPlan, runPlan, type SamplerPlan } from '../src/score/sampling/index.js';
import { classifierGuided, classifierLogProbGrad } from '../src/score/guidance/classifier.js';
import { marginalAtCond } from '../src/score/guidance/noise_level.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';
import { noiseClassifierRef, logProbGradFd, type ParamValues, type Arr } from './noise_classifier_ref.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const SHAPE = [1, 8, 8];
const K = 5;

/** A tiny classifier with fresh random weights on the device, and their float64 copies. */
function tinyClassifier(embedding: 'fourier' | 'sinusoidal', seed: number, pool: 'mean' | 'flatten' = 'mean', stemStride: 1 | 2 = 1): { net: NoiseClassifier; P: ParamValues } {
  const net = createNoiseClassifier({ channels: 1, imageSize: 8, base: 4, mults: [1, 2], numResBlocks: 1, stemStride, embedding, pool, classes: K, seed: seed % 9973 });
  const arena = materialize(d, net);
  const r = rng(seed);
  const values = new Map<string, { shape: number[]; data: Float32Array }>();
  const P: ParamValues = new Map();
  for (const [name, p] of arena.params) {
    const z = r.normal(p.size);
    const data = Float32Array.from(p.init, (v, i) => v + 0.3 * z[i]); // no zero or unit parameters
    values.set(name, { shape: p.shape, data });
    P.set(p, Float64Array.from(data));
  }
  arena.load(values);
  return { net, P };
}

function randomImages(n: number, seed: number, scale = 1): Float32Array {
  return rng(seed).normal(n * 64).map((v) => scale * v);
}

describe(`classifier guidance (seed ${TEST_SEED})`, () => {
  it('∇ₓ log p_φ(y | x, cond) on the GPU matches central differences of the float64 reference', async () => {
    for (const [embedding, conds, pool, stemStride] of [['sinusoidal', [0, 37.5, 999], 'mean', 1], ['fourier', [0.01, 0.7, 20], 'flatten', 2]] as const) {
      const { net, P } = tinyClassifier(embedding, TEST_SEED + (embedding === 'fourier' ? 1 : 0), pool, stemStride);
      const B = conds.length;
      const xs = randomImages(B, TEST_SEED + 2);
      const x = Tensor.fromArray(d, xs, [B, ...SHAPE]);
      const cond = Tensor.fromArray(d, Float32Array.from(conds), [B, 1]);
      const xr: Arr = { d: Float64Array.from(xs), s: [B, ...SHAPE] };
      // the reference is the network: its logits first
      const logits = await noGrad(() => net.logits(x, cond)).toArray();
      const lref = noiseClassifierRef(net, P, xr, conds);
      expect(relErr(logits, lref.d), `${embedding} logits`).toBeLessThan(1e-4);
      for (const label of [0, K - 1, (TEST_SEED % K + K) % K]) {
        const g = await noGrad(() => classifierLogProbGrad(net, x, cond, label)).toArray(); // samplers run under noGrad
        const fd = logProbGradFd(net, P, xr, conds, label);
        expect(relErr(g, fd), `${embedding}, class ${label}`).toBeLessThan(2e-3);
        expect(Math.hypot(...fd)).toBeGreaterThan(1e-3); // not a trivially zero gradient
      }
    }
  });

  it('the marginal at a noise-level input, on the device, matches each process (integer and fractional levels)', async () => {
    const ddpm = new DdpmProcess('linear', 1000, 1e-4, 0.02);
    const cases: { proc: DiscreteProcess; conds: number[]; want: { mean: number; std: number }[] }[] = [];
    const fr = [0.013, 0.7, 3.1].map((s) => noiseLevel(ddpm, s)); // fractional indices (Heun's σ levels)
    cases.push({
      proc: ddpm,
      conds: [0, 411, 999, ...fr.map((l) => l.cond)],
      want: [...[0, 411, 999].map((i) => ddpm.marginal(i)), ...[0.013, 0.7, 3.1].map((s, j) => ({ mean: fr[j].mean, std: s * fr[j].mean }))],
    });
    const ncsn = new NcsnProcess(20, 0.01, 30);
    cases.push({ proc: ncsn, conds: [0, 7, 29].map((i) => ncsn.conditioning(i)), want: [0, 7, 29].map((i) => ncsn.marginal(i)) });
    for (const spec of [{ kind: 'vp', betaMin: 0.1, betaMax: 20, N: 1000 }, { kind: 'subvp', betaMin: 0.1, betaMax: 20, N: 1000 }, { kind: 've', sigmaMin: 0.01, sigmaMax: 30, N: 1000 }] as const) {
      const p = buildProcess(spec);
      cases.push({ proc: p, conds: [0, 123, 999].map((i) => p.conditioning(i)), want: [0, 123, 999].map((i) => p.marginal(i)) });
    }
    for (const c of cases) {
      const cond = Tensor.fromArray(d, Float32Array.from(c.conds), [c.conds.length, 1]);
      const { mean, std } = noGrad(() => marginalAtCond(c.proc, cond));
      const [m, s] = [await mean.toArray(), await std.toArray()];
      c.want.forEach((w, i) => {
        expect(Math.abs(m[i] - w.mean) / w.mean, `${c.proc.name} cond ${c.conds[i]}: mean`).toBeLessThan(2e-4);
        expect(Math.abs(s[i] - w.std) / w.std, `${c.proc.name} cond ${c.conds[i]}: std`).toBeLessThan(2e-4);
      });
    }
  });

  it("the guided output out' = out + s·∇ log p_φ / co matches a CPU reference (ε and score predictions)", async () => {
    const ddpm = new DdpmProcess('linear', 1000, 1e-4, 0.02);
    const ncsn = new NcsnProcess(20, 0.01, 30);
    const fr = noiseLevel(ddpm, 0.37);
    const cases = [
      { proc: ddpm as DiscreteProcess, embedding: 'sinusoidal' as const, conds: [5, 500, fr.cond], marg: [ddpm.marginal(5), ddpm.marginal(500), { mean: fr.mean, std: 0.37 * fr.mean }] },
      { proc: ncsn as DiscreteProcess, embedding: 'fourier' as const, conds: [0, 15, 29].map((i) => ncsn.conditioning(i)), marg: [0, 15, 29].map((i) => ncsn.marginal(i)) },
    ];
    for (const [ci, c] of cases.entries()) {
      const { net: clf, P } = tinyClassifier(c.embedding, TEST_SEED + 10 + ci);
      const B = c.conds.length;
      const xs = randomImages(B, TEST_SEED + 20 + ci);
      const base: NoiseConditionalNet = { forward: (x) => op.scale(x, 0.3) };
      const scale = 1.7, label = 2;
      const guided = classifierGuided(base, clf, c.proc, { label, scale });
      const out = await noGrad(() => guided.forward(Tensor.fromArray(d, xs, [B, ...SHAPE]), Tensor.fromArray(d, Float32Array.from(c.conds), [B, 1]))).toArray();
      const xr: Arr = { d: Float64Array.from(xs), s: [B, ...SHAPE] };
      const g = logProbGradFd(clf, P, xr, c.conds, label);
      const ref = new Float64Array(xs.length), corr = new Float64Array(xs.length), got = new Float64Array(xs.length);
      for (let b = 0; b < B; b++) {
        const co = adapt(c.proc.prediction, c.marg[b]).score.co;
        for (let j = 0; j < 64; j++) {
          const i = b * 64 + j;
          corr[i] = (scale * g[i]) / co;
          ref[i] = 0.3 * xs[i] + corr[i];
          got[i] = out[i] - 0.3 * xs[i];
        }
      }
      expect(relErr(got, corr), `${c.proc.name}: the guidance term`).toBeLessThan(3e-3);
      expect(relErr(out, ref), `${c.proc.name}: out'`).toBeLessThan(1e-3);
    }
  });

  it('runPlan with the guided net (a backward inside the recorded step, replayed) matches the plan run on the CPU', async () => {
    const ddpm = new DdpmProcess('linear', 1000, 1e-4, 0.02);
    const { net: clf, P } = tinyClassifier('sinusoidal', TEST_SEED + 30);
    const base: NoiseConditionalNet = { forward: (x) => op.scale(x, 0.3) };
    const scale = 2.5, label = 1, n = 2, seed = (TEST_SEED % 1000) + 1;
    const guided = classifierGuided(base, clf, ddpm, { label, scale });
    for (const plan of [ddimPlan(ddpm, { steps: 5, eta: 0, clip: false }), heunPlan(ddpm, { steps: 3 })] as SamplerPlan[]) {
      const r = await runPlan(d, guided, plan, { n, shape: SHAPE, seed });
      expect(r.dispatchesPerStep).toBeGreaterThan(0); // replayed
      // the CPU: the same start (the device's draw), network + guidance in float64, the plan's ops
      const init = plan.init;
      if (init.kind !== 'normal') throw new Error('expected a Gaussian start');
      const x0 = await randn(d, [n, ...SHAPE], seed, { stream: 0 }).toArray();
      const regs: Record<string, Float64Array> = { x: Float64Array.from(x0, (v) => v * init.std), h: new Float64Array(n * 64), r: new Float64Array(n * 64) };
      const ops = plan.ops ?? [{ target: 'x' as const, source: 'out' as const, clip: plan.clip }];
      for (const s of plan.steps) {
        const x = regs.x;
        const conds = new Array(n).fill(s.cond);
        const g = logProbGradFd(clf, P, { d: Float64Array.from(Float32Array.from(x)), s: [n, ...SHAPE] }, conds, label);
        const lv = Number.isInteger(s.cond) ? ddpm.marginal(s.cond) : (() => { const sg = sigmaOfCond(ddpm, s.cond); const m = 1 / Math.sqrt(1 + sg * sg); return { mean: m, std: sg * m }; })();
        const co = adapt('eps', lv).score.co;
        const out = x.map((v, i) => 0.3 * v + (scale * g[i]) / co);
        ops.forEach((o, j) => {
          const c = plan.ops ? s.coefs![j] : s.coef;
          if (c.c !== 0) throw new Error('expected a deterministic plan');
          const t = regs[o.target], src = o.source === 'out' ? out : regs[o.source];
          regs[o.target] = t.map((v, i) => {
            let e = c.p * v + c.q * src[i];
            if (o.clip) e = Math.min(c.hi ?? Infinity, Math.max(c.lo ?? -Infinity, e));
            return c.a * v + c.b * e;
          });
        });
      }
      expect(relErr(r.samples, regs.x), plan.name).toBeLessThan(2e-3);
    }
  });
});

/** σ at a fractional DDPM index, as the device computes it: log σ interpolated linearly between indices. */
function sigmaOfCond(p: DdpmProcess, c: number): number {
  const lo = Math.floor(c), w = c - lo, hi = Math.min(lo + 1, p.N - 1);
  const ls = (i: number) => Math.log(p.marginal(i).std / p.marginal(i).mean);
  return Math.exp((1 - w) * ls(lo) + w * ls(hi));
}
