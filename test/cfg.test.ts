// Classifier-free guidance (src/score/guidance/cfg.ts) and the class-conditional U-Net: the label
// embedding's forward and gradient against the float64 reference (test/unet_ref.ts, finite
// differences along random directions), the guided combination against the same reference in one
// batched forward, the training label drop rate against its binomial law, and a class-conditional
// run that trains, resumes bit for bit and reloads with the same outputs.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNpy } from '../src/io/npy.js';
import { parseArgs } from '../src/cli/args.js';
import { SAMPLE_OPTS } from '../src/cli/sample.js';
import { TRAIN_OPTS } from '../src/cli/train.js';
import { sampleImageCommand, imageConfigFromArgs } from '../src/cli/images.js';
import { device, rng, relErr, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { grad, noGrad } from '../src/autograd/engine.js';
import { randint, randn, rademacher } from '../src/tensor/ops/random.js';
import { materialize, type Param, type ParamArena } from '../src/nn/module.js';
import { UNet, unetConfig, type UNetConfig } from '../src/nn/unet.js';
import { ClassifierFreeGuidance, dropLabels, type LabelledNet } from '../src/score/guidance/cfg.js';
import type { Noise } from '../src/score/losses.js';
import { trainImage, loadImageRun } from '../src/train/image.js';
import { imageConfig } from '../src/train/image_recipes.js';
import type { ImageSet } from '../src/data/images.js';
import { readSafetensors } from '../src/io/fs.js';
import { unetRef, type ParamValues } from './unet_ref.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

let d: Device;
beforeAll(async () => {
  d = await device();
});

const dotf = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** A tiny class-conditional network, parameters perturbed away from the init (as test/unet.test.ts does). */
async function tiny(over: Partial<UNetConfig>, seed: number): Promise<{ net: UNet; arena: ParamArena; P: ParamValues }> {
  const net = new UNet(unetConfig('small', {
    channels: 1, imageSize: 6, base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: true, maxGroups: 4,
    fourierScale: 1, seed: seed % 1000, ...over,
  }));
  const arena = materialize(d, net);
  const r = rng(seed);
  const vals = await arena.read();
  for (const [name, v] of vals) {
    const noise = r.normal(v.data.length);
    const amp = name.endsWith('gamma') || name.endsWith('bias') || name.endsWith('beta') ? 0.2 : 0.1;
    for (let i = 0; i < v.data.length; i++) v.data[i] += amp * noise[i];
  }
  arena.load(vals);
  const back = await arena.read();
  return { net, arena, P: new Map(arena.params.map(([name, p]) => [p, Float64Array.from(back.get(name)!.data)])) };
}

/** Noise draws from the device's Philox stream, one stream per call (as the trainer's StepNoise). */
function noiseSource(seed: number): Noise {
  let k = 0;
  return {
    normal: (shape) => randn(d, shape, seed, { stream: ++k }),
    rademacher: (shape) => rademacher(d, shape, seed, { stream: ++k }),
    randint: (shape, high) => randint(d, shape, high, seed, { stream: ++k }),
  };
}

describe(`classifier-free guidance (seed ${TEST_SEED})`, () => {
  it('a conditional U-Net is the unconditional one of the same seed plus a label table; forward and gradients match the float64 reference', async () => {
    const K = 4;
    const plain = new UNet(unetConfig('small', { imageSize: 8, base: 8, mults: [1, 2], maxGroups: 4, seed: 7 }));
    const cond = new UNet(unetConfig('small', { imageSize: 8, base: 8, mults: [1, 2], maxGroups: 4, seed: 7, classes: K }));
    const pn = plain.namedParameters(), cn = cond.namedParameters();
    expect(cn.map(([n]) => n).filter((n) => !n.startsWith('classEmbed.'))).toEqual(pn.map(([n]) => n));
    for (const [n, p] of pn) expect(Array.from(cn.find(([m]) => m === n)![1].init), n).toEqual(Array.from(p.init));
    expect(cond.classEmbed!.weight.shape).toEqual([K + 1, cond.tembDim]);

    const { net, P } = await tiny({ classes: K }, TEST_SEED);
    const r = rng(TEST_SEED + 1);
    const B = 5;
    const xs = [B, 1, 6, 6];
    const xf = r.normal(B * 36), sf = r.uniform(B, 0.3, 3);
    const labels = [K, 1, 3, 1, 0]; // ∅ included; class 2 absent
    const x = Tensor.fromArray(d, xf, xs);
    x.requiresGrad = true;
    const y = net.forward(x, Tensor.fromArray(d, sf, [B, 1]), Tensor.fromArray(d, Float32Array.from(labels), [B, 1]));
    const x64 = Float64Array.from(xf), s64 = Float64Array.from(sf);
    const ref = unetRef(net, P, { d: x64, s: xs }, s64, labels);
    expect(relErr(await y.toArray(), ref.d)).toBeLessThan(1e-4);
    // without labels a conditional network reads ∅ for every row
    const yNull = noGrad(() => net.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, sf, [B, 1])));
    expect(relErr(await yNull.toArray(), unetRef(net, P, { d: x64, s: xs }, s64).d)).toBeLessThan(1e-4);

    const w = r.normal(y.size);
    const named = new Map(net.namedParameters());
    const which = ['classEmbed.weight', 'embed1.weight', 'down0.res0.temb.weight'];
    const params: Param[] = which.map((n) => named.get(n)!);
    const gs = grad(y, [x, ...params.map((p) => p.value)], { gradOutput: Tensor.fromArray(d, w, y.shape) });
    const w64 = Float64Array.from(w);
    const f = (xv: Float64Array, PP: ParamValues) => dotf(unetRef(net, PP, { d: xv, s: xs }, s64, labels).d, w64);
    const h = 1e-4;
    const failures: string[] = [];
    for (let j = 0; j <= params.length; j++) {
      const g = await gs[j]!.toArray();
      const base = j === 0 ? x64 : P.get(params[j - 1])!;
      const u = Float64Array.from(r.normal(base.length));
      const at = (t: number) => {
        const shifted = base.map((v, i) => v + t * u[i]);
        return j === 0 ? f(shifted, P) : f(x64, new Map(P).set(params[j - 1], shifted));
      };
      const numeric = (at(h) - at(-h)) / (2 * h), analytic = dotf(g, u);
      if (!(Math.abs(analytic - numeric) <= 2e-3 * Math.max(1, Math.abs(numeric)))) failures.push(`${j === 0 ? 'x' : which[j - 1]}: ${analytic} vs ${numeric}`);
      if (j === 1) {
        // rows of labels no sample carries get exactly no gradient; the others do
        const T = net.classEmbed!.dim;
        for (let k = 0; k <= K; k++) {
          const row = g.subarray(k * T, (k + 1) * T);
          if (labels.includes(k)) expect(row.some((v) => v !== 0), `row ${k}`).toBe(true);
          else expect(row.every((v) => v === 0), `row ${k}`).toBe(true);
        }
      }
    }
    expect(failures, failures.join('; ')).toEqual([]);
  });

  it('ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅) from one forward on the doubled batch matches the float64 reference', async () => {
    const K = 3;
    for (const [over, B] of [[{}, 3], [{ embedding: 'sinusoidal', scaleBySigma: false }, 5]] as [Partial<UNetConfig>, number][]) {
      const { net, P } = await tiny({ classes: K, ...over }, TEST_SEED + 11 + B);
      const r = rng(TEST_SEED + 12 + B);
      const xs = [B, 1, 6, 6];
      const xf = r.normal(B * 36);
      const cf = net.cfg.embedding === 'fourier' ? r.uniform(B, 0.3, 3) : Float32Array.from({ length: B }, () => Math.floor(r.next() * 1000));
      const labels = Array.from({ length: B }, () => Math.floor(r.next() * K));
      const w = 0.5 + 3 * r.next();
      const calls: number[] = [];
      const spy: LabelledNet = { nullLabel: net.nullLabel, forward: (x, c, y) => (calls.push(x.shape[0]), net.forward(x, c, y)) };
      const guided = new ClassifierFreeGuidance(spy, labels, w);
      const out = noGrad(() => guided.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, cf, [B, 1])));
      expect(calls).toEqual([2 * B]); // one network call on [x; x]
      const x64 = Float64Array.from(xf), c64 = Float64Array.from(cf);
      const withY = unetRef(net, P, { d: x64, s: xs }, c64, labels).d;
      const withNull = unetRef(net, P, { d: x64, s: xs }, c64, labels.map(() => K)).d;
      const ref = withY.map((v, i) => (1 + w) * v - w * withNull[i]);
      expect(relErr(withY, withNull)).toBeGreaterThan(0.05); // the labels matter, so the test can fail
      const err = relErr(await out.toArray(), ref);
      expect(err, `relErr ${err} (w = ${w}, B = ${B})`).toBeLessThan(3e-4);
      // w = 0 is the conditional network alone, in one call on B rows
      calls.length = 0;
      const plain = new ClassifierFreeGuidance(spy, labels, 0);
      const o0 = noGrad(() => plain.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, cf, [B, 1])));
      expect(calls).toEqual([B]);
      expect(relErr(await o0.toArray(), withY)).toBeLessThan(1e-4);
      guided.dispose();
      plain.dispose();
    }
    const { net } = await tiny({ classes: K }, TEST_SEED);
    expect(() => new ClassifierFreeGuidance(net, K, 1)).toThrow(/label 3 is not a class/);
    expect(() => new ClassifierFreeGuidance(net, 1, NaN)).toThrow(/finite/);
    expect(() => noGrad(() => new ClassifierFreeGuidance(net, [0, 1], 1).forward(Tensor.empty(d, [3, 1, 6, 6]), Tensor.empty(d, [3, 1])))).toThrow(/2 labels for a batch of 3/);
  });

  it('the training label drop replaces a label by ∅ with probability p (binomial tolerance), the rest untouched, reproducibly', async () => {
    const N = 30001, K = 10;
    const r = rng(TEST_SEED + 21);
    const ys = Float32Array.from({ length: N }, () => Math.floor(r.next() * K));
    const labels = Tensor.fromArray(d, ys, [N, 1]);
    const seed = TEST_SEED % 100000;
    for (const p of [0.1, 0.37]) {
      const out = await noGrad(() => dropLabels(labels, noiseSource(seed), p, K)).toArray();
      let dropped = 0;
      for (let i = 0; i < N; i++) {
        if (out[i] === K) dropped++;
        else expect(out[i]).toBe(ys[i]);
      }
      const sd = Math.sqrt(N * p * (1 - p));
      expect(Math.abs(dropped - N * p), `${dropped} of ${N} dropped at p = ${p}`).toBeLessThan(4.5 * sd);
      // the same seed draws the same drops; another seed others
      const again = await noGrad(() => dropLabels(labels, noiseSource(seed), p, K)).toArray();
      expect(Array.from(again)).toEqual(Array.from(out));
      const other = await noGrad(() => dropLabels(labels, noiseSource(seed + 1), p, K)).toArray();
      expect(Array.from(other)).not.toEqual(Array.from(out));
    }
    expect(Array.from(await noGrad(() => dropLabels(labels, noiseSource(seed), 1, K)).toArray()).every((v) => v === K)).toBe(true);
    expect(dropLabels(labels, noiseSource(seed), 0, K)).toBe(labels);
    expect(() => dropLabels(labels, noiseSource(seed), 1.5, K)).toThrow(/\[0, 1\]/);
  });

  it('a class-conditional run trains, resumes bit for bit, records its classes, reloads with the same outputs, and samples a class through the sample command', async () => {
    // made-up labelled 6×6 images: class k is a bright band in row pair k
    const r = rng(TEST_SEED + 31);
    const n = 90, K = 3;
    const make = (m: number) => {
      const img = new Uint8Array(m * 36), lab = new Uint8Array(m);
      for (let i = 0; i < m; i++) {
        const k = Math.floor(r.next() * K);
        lab[i] = k;
        for (let p = 0; p < 36; p++) img[i * 36 + p] = Math.floor(p / 6 / 2) === k ? 200 + Math.floor(r.next() * 50) : Math.floor(r.next() * 40);
      }
      return { img, lab };
    };
    const tr = make(n), te = make(30);
    const set: ImageSet = { name: 'bands', shape: [1, 6, 6], train: tr.img, trainLabels: tr.lab, test: te.img, testLabels: te.lab, classes: null };
    const unet = { base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: false, maxGroups: 4 };
    const cfg = imageConfig({ data: 'bands', process: 'ddpm', unet, steps: 40, batchSize: 7, seed: TEST_SEED % 1000, classes: 0, condDrop: 0.25 });
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-cfg-'));
    const a = join(dir, 'straight'), b = join(dir, 'resumed');
    const r1 = await trainImage(d, cfg, { out: a, set, checkpointEvery: 20, logEvery: 10 });
    expect(r1.cfg.classes).toBe(K); // from the data
    expect(r1.net.classEmbed!.weight.shape).toEqual([K + 1, r1.net.tembDim]);
    expect(r1.lossHistory.every(([, l]) => Number.isFinite(l))).toBe(true);
    const saved = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8'));
    expect([saved.classes, saved.condDrop]).toEqual([K, 0.25]);
    (await trainImage(d, cfg, { out: b, set, checkpointEvery: 20, logEvery: 10, until: 20 })).trainer.dispose();
    (await trainImage(d, cfg, { out: b, set, resume: true, checkpointEvery: 20, logEvery: 10 })).trainer.dispose();
    const A = readSafetensors(join(a, 'checkpoint.safetensors')), Bf = readSafetensors(join(b, 'checkpoint.safetensors'));
    expect(Object.keys(A.tensors)).toContain('params.classEmbed.weight');
    for (const name of Object.keys(A.tensors)) {
      expect(Buffer.from((Bf.tensors[name].data as Float32Array).buffer).equals(Buffer.from((A.tensors[name].data as Float32Array).buffer)), name).toBe(true);
    }
    // the reloaded parameters give the trained network's outputs, label by label
    const run = loadImageRun(d, a, 'params');
    expect(run.cfg.classes).toBe(K);
    const B = 5;
    const xf = r.normal(B * 36), tf = Float32Array.from({ length: B }, () => Math.floor(r.next() * 1000));
    const yl = Float32Array.from([0, 1, 2, K, 1]);
    const fwd = (net: UNet) => noGrad(() => net.forward(Tensor.fromArray(d, xf, [B, 1, 6, 6]), Tensor.fromArray(d, tf, [B, 1]), Tensor.fromArray(d, yl, [B, 1])).toArray());
    const o1 = await fwd(r1.net), o2 = await fwd(run.net);
    expect(Buffer.from(o2.buffer).equals(Buffer.from(o1.buffer))).toBe(true);
    // training moved the label table away from its init
    const init = new UNet(r1.net.cfg).classEmbed!.weight.init;
    expect(relErr(A.tensors['params.classEmbed.weight'].data as Float32Array, init)).toBeGreaterThan(1e-3);
    r1.trainer.dispose();
    expect(() => imageConfig({ condDrop: 0.1 })).toThrow(/class-conditional/);

    // the commands' flags (in process: a spawned CLI compiles every pipeline again, ~1 min under load)
    const train = (...args: string[]) => imageConfigFromArgs(parseArgs(['--data', 'fashion-mnist', '--model', 'unet', ...args], TRAIN_OPTS, 'train'));
    expect([train('--class-conditional', '--cond-drop', '0.2').classes, train('--class-conditional').condDrop]).toEqual([0, 0.1]);
    expect(train().classes).toBeUndefined();
    expect(() => train('--cond-drop', '0.2')).toThrow(/--cond-drop is for class-conditional runs/);
    const sample = (...args: string[]) => sampleImageCommand(d, parseArgs(args, SAMPLE_OPTS, 'sample'));
    const npy = join(dir, 'c2.npy');
    expect(await sample('--run', a, '--class', '2', '--cfg', '1.5', '--sampler', 'ddim', '--steps', '3', '--n', '3', '--out', npy)).toBe(0);
    const arr = decodeNpy(new Uint8Array(readFileSync(npy)), npy);
    expect(arr.shape).toEqual([3, 1, 6, 6]);
    expect(Array.from(arr.data as Float32Array).every(Number.isFinite)).toBe(true);
    await expect(sample('--run', a, '--class', '3', '--n', '2')).rejects.toThrow(/class 3 is out of range/);
    await expect(sample('--run', a, '--cfg', '2', '--n', '2')).rejects.toThrow(/--cfg needs --class/);
    await expect(sample('--run', join(ROOT, 'models/fmnist-ddpm-small'), '--class', 'sandal', '--cfg', '2', '--n', '2')).rejects.toThrow(/--cfg is for class-conditional runs/);
  });
});
