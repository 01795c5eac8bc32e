// The Fashion-MNIST classifier and the image-quality metric built on it: logSoftmax's backward vs
// finite differences, the metric's host-side pieces on synthetic data, and (when the data set is
// installed) one real training run — test accuracy ≥ 90 %, the cache round trip and its hash check,
// and the Fréchet distance on its features ordering real < blurred, real < noisy.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, TEST_SEED } from '../kernels-tests/helpers.js';
import { firstOrder, secondOrder } from './gradcheck.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { grad } from '../src/autograd/engine.js';
import { softmaxRef } from '../src/tensor/cpu/softmax.js';
import { Rng } from '../src/data/rng.js';
import { frechetFromStats } from '../src/eval/metrics.js';
import { FASHION_MNIST_DIR, imagesToFloat, loadFashionMnist, type ImageSplit } from '../src/data/idx.js';
import { ConvClassifier, crossEntropy, defaultClassifierConfig, oneHot } from '../src/nn/classifier.js';
import {
  ClassifierCacheError, decodeClassifier, encodeClassifier, loadOrTrainClassifier, shippedClassifierPath, testAccuracy, type TrainedClassifier,
} from '../src/eval/fmnist_classifier.js';
import {
  addGaussianNoise, boxBlur3, classHistogram, classifierOutputs, evaluateImages, frechetImageDistance, meanConfidence, totalVariation,
} from '../src/eval/image_quality.js';
import { evaluateImageSamples, checkClassifierShape } from '../src/eval/image_eval.js';
import { loadImageSet } from '../src/data/images.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const close = (a: number, n: number, tol = 2e-3) => Math.abs(a - n) <= tol * Math.max(1, Math.abs(n));

describe(`logSoftmax and cross-entropy (seed ${TEST_SEED})`, () => {
  it('logSoftmax backward (first and second order) vs finite differences', async () => {
    for (const [shape, axis] of [[[3, 7], 1], [[2, 5, 3], 1]] as [number[], number][]) {
      const gpu = (x: Tensor) => op.logSoftmax(x, axis);
      const cpu = (x: Float64Array) => softmaxRef('logSoftmax', x, shape, axis);
      const [r] = await firstOrder(d, gpu, cpu, [shape], { seed: TEST_SEED, ranges: [[-3, 3]] });
      expect(close(r.analytic, r.numeric), `d/dx ${shape}: ${r.analytic} vs ${r.numeric}`).toBe(true);
      const r2 = await secondOrder(d, gpu, cpu, [shape], 0, { seed: TEST_SEED + 1, ranges: [[-3, 3]] });
      expect(close(r2.analytic, r2.numeric, 5e-3), `uᵀHv ${shape}: ${r2.analytic} vs ${r2.numeric}`).toBe(true);
    }
  });

  it('crossEntropy and its gradient (softmax − one-hot)/B match the float64 formula', async () => {
    const B = 9, K = 10;
    const r = new Rng(TEST_SEED);
    const logits = Float32Array.from({ length: B * K }, () => 3 * r.normal());
    const labels = Float32Array.from({ length: B }, () => r.int(K));
    const x = Tensor.fromArray(d, logits, [B, K]);
    x.requiresGrad = true;
    const loss = crossEntropy(x, oneHot(Tensor.fromArray(d, labels, [B, 1]), K));
    const [g] = grad(loss, [x]);
    let ref = 0;
    const gref = new Float64Array(B * K);
    for (let b = 0; b < B; b++) {
      const row = Array.from(logits.subarray(b * K, (b + 1) * K));
      const m = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      ref -= row[labels[b]] - m - Math.log(z);
      for (let k = 0; k < K; k++) gref[b * K + k] = (Math.exp(row[k] - m) / z - (k === labels[b] ? 1 : 0)) / B;
    }
    expect(await loss.item()).toBeCloseTo(ref / B, 4);
    const ga = await g!.toArray();
    for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i] - gref[i])).toBeLessThan(1e-5);
  });

  it('the classifier maps [B, 1, 28, 28] to features [B, 128] and logits [B, 10], and rejects other shapes', async () => {
    const clf = new ConvClassifier(defaultClassifierConfig());
    const { materialize } = await import('../src/nn/module.js');
    materialize(d, clf);
    const x = Tensor.fromArray(d, new Float32Array(3 * 784).fill(0.25), [3, 1, 28, 28]);
    const out = clf.forward(x);
    expect(out.features.shape).toEqual([3, 128]);
    expect(out.logits.shape).toEqual([3, 10]);
    expect([...(await out.features.toArray())].every((v) => Number.isFinite(v))).toBe(true);
    expect(() => clf.logits(Tensor.fromArray(d, new Float32Array(2 * 3 * 28 * 28), [2, 3, 28, 28]))).toThrow(/\[B, 1, 28, 28\]/);
  });
});

describe('image-quality helpers (host side)', () => {
  it('frechetImageDistance of Gaussian feature sets approaches the closed form', () => {
    // N(μ1, Σ1) vs N(μ2, Σ2) in 6-D with correlated covariances: Σ = A Aᵀ
    const dim = 6, n = 40_000;
    const r = new Rng(TEST_SEED);
    const mk = () => Float64Array.from({ length: dim * dim }, () => r.normal() * 0.5);
    const A1 = mk(), A2 = mk();
    const mu1 = Float64Array.from({ length: dim }, () => r.normal());
    const mu2 = Float64Array.from({ length: dim }, () => r.normal());
    const cov = (A: Float64Array) => {
      const c = new Float64Array(dim * dim);
      for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) for (let k = 0; k < dim; k++) c[i * dim + j] += A[i * dim + k] * A[j * dim + k];
      return c;
    };
    const draw = (A: Float64Array, mu: Float64Array) => {
      const out = new Float64Array(n * dim);
      const z = new Float64Array(dim);
      for (let s = 0; s < n; s++) {
        for (let k = 0; k < dim; k++) z[k] = r.normal();
        for (let i = 0; i < dim; i++) {
          let v = mu[i];
          for (let k = 0; k < dim; k++) v += A[i * dim + k] * z[k];
          out[s * dim + i] = v;
        }
      }
      return out;
    };
    const closed = frechetFromStats(mu1, cov(A1), mu2, cov(A2), dim);
    const est = frechetImageDistance(draw(A1, mu1), draw(A2, mu2), dim);
    expect(Math.abs(est - closed)).toBeLessThan(0.03 * closed + 0.02);
    expect(frechetImageDistance(draw(A1, mu1), draw(A1, mu1), dim)).toBeLessThan(0.02);
  });

  it('boxBlur3 keeps constants, spreads an impulse over 3×3, replicates edges; noise has the asked std', () => {
    const c = new Float32Array(2 * 784).fill(0.3);
    expect(Math.max(...boxBlur3(c, 2).map((v) => Math.abs(v - 0.3)))).toBeLessThan(1e-6);
    const imp = new Float32Array(784);
    imp[10 * 28 + 10] = 9;
    const b = boxBlur3(imp, 1);
    for (let y = 9; y <= 11; y++) for (let x = 9; x <= 11; x++) expect(b[y * 28 + x]).toBeCloseTo(1, 6);
    expect(b[8 * 28 + 10]).toBe(0);
    expect(b.reduce((s, v) => s + v, 0)).toBeCloseTo(9, 4);
    // a corner impulse: replicate padding counts the corner pixel 4 times in its own window
    const corner = new Float32Array(784);
    corner[0] = 9;
    expect(boxBlur3(corner, 1)[0]).toBeCloseTo(4, 6);
    expect(imp[10 * 28 + 10]).toBe(9); // input untouched
    // total variation: a vertical step of height 2 in one 28×28 image is 28 pairs of 2 over 784 pixels
    const step = Float32Array.from({ length: 784 }, (_, i) => (i % 28 < 14 ? -1 : 1));
    expect(totalVariation(step)).toBeCloseTo((28 * 2) / 784, 10);
    expect(totalVariation(c)).toBe(0);
    const z = addGaussianNoise(new Float32Array(50_000), 0.1, 3);
    const sd = Math.sqrt(z.reduce((s, v) => s + v * v, 0) / z.length);
    expect(Math.abs(sd - 0.1)).toBeLessThan(0.002);
  });

  it('classHistogram and meanConfidence', () => {
    const logits = Float32Array.from([5, 0, 0, /**/ 0, 5, 0, /**/ 0, 0, 0, /**/ 1, 7, 2]);
    expect(classHistogram(logits, 3)).toEqual([2, 2, 0]); // a tie goes to the first class
    const p1 = Math.exp(5) / (Math.exp(5) + 2);
    const p4 = Math.exp(7) / (Math.exp(1) + Math.exp(7) + Math.exp(2));
    expect(meanConfidence(logits, 3)).toBeCloseTo((2 * p1 + 1 / 3 + p4) / 4, 10);
  });
});

const haveData = existsSync(FASHION_MNIST_DIR);

describe.skipIf(!haveData)('Fashion-MNIST classifier (trains once, ~2–3 min on lavapipe)', () => {
  let trained: TrainedClassifier;
  let test: ImageSplit;
  let cacheDir: string;

  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'scoregpu-clf-'));
    test = loadFashionMnist(FASHION_MNIST_DIR, 'test');
    trained = await loadOrTrainClassifier(d, { cacheDir, shipped: null });
  }, 600_000);

  it('trains to ≥ 90 % test accuracy and caches itself with its hash', () => {
    console.log(`classifier: ${trained.model.parameterCount()} parameters, test accuracy ${(trained.testAccuracy * 100).toFixed(2)} %, trained in ${trained.trainSeconds.toFixed(1)} s (${trained.steps} steps)`);
    expect(trained.source).toBe('trained');
    expect(trained.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(trained.path && existsSync(trained.path)).toBe(true);
    expect(trained.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('loads back from the cache: same hash, same accuracy, same logits', async () => {
    const again = await loadOrTrainClassifier(d, { cacheDir, shipped: null });
    expect(again.source).toBe('cache');
    expect(again.sha256).toBe(trained.sha256);
    expect(again.testAccuracy).toBe(trained.testAccuracy);
    const x = imagesToFloat(test.images.subarray(0, 64 * 784));
    const a = await classifierOutputs(d, trained.model, x);
    const b = await classifierOutputs(d, again.model, x);
    expect(b.logits).toEqual(a.logits);
  });

  it('a corrupted cache file fails its hash: a clear error when strict, retraining otherwise', async () => {
    const bytes = new Uint8Array(readFileSync(trained.path!));
    const bad = bytes.slice();
    bad[bad.length - 5] ^= 0x40; // flip a bit of the last weight
    await expect(decodeClassifier(d, bad, 'bad.safetensors')).rejects.toThrow(/hash .* does not match/);
    await expect(decodeClassifier(d, bytes.subarray(0, 100), 'cut.safetensors')).rejects.toBeInstanceOf(ClassifierCacheError);
    writeFileSync(trained.path!, bad);
    await expect(loadOrTrainClassifier(d, { cacheDir, strict: true, shipped: null })).rejects.toThrow(/does not match the stored/);
    writeFileSync(trained.path!, bytes);

    // non-strict: retrains over the bad file (a small custom set keeps this fast; its own cache key)
    const small = (s: ImageSplit, n: number): ImageSplit => ({ ...s, n, images: s.images.subarray(0, n * 784), labels: s.labels.subarray(0, n) });
    const train = loadFashionMnist(FASHION_MNIST_DIR, 'train');
    const opts = { cacheDir, train: small(train, 1024), test: small(test, 256), epochs: 1, config: { convChannels: [8, 8] as [number, number], features: 16 } };
    const first = await loadOrTrainClassifier(d, opts);
    expect(first.source).toBe('trained');
    expect(first.path).not.toBe(trained.path);
    const f = readFileSync(first.path!);
    f[f.length - 1] ^= 0x01;
    writeFileSync(first.path!, f);
    const second = await loadOrTrainClassifier(d, opts);
    expect(second.source).toBe('trained');
    expect(second.retrainReason).toMatch(/does not match/);
    expect((await loadOrTrainClassifier(d, opts)).source).toBe('cache');
    // the round trip through bytes is exact
    const re = await decodeClassifier(d, await encodeClassifier(trained), 'mem');
    expect(re.sha256).toBe(trained.sha256);
  }, 120_000);

  it('Fréchet distance on its features: real ≈ floor, ≪ blur×2 and noise 0.2; noise 0.1 shows in FD and TV', async () => {
    // n = 2000 (the floor at 1000 is about twice as large: FD's bias falls like 1/n)
    const n = 2000;
    const x = imagesToFloat(test.images);
    const part = (k: number) => x.subarray(k * n * 784, (k + 1) * n * 784);
    const [heldA, heldB, real] = [part(0), part(1), part(2)];
    const q = await evaluateImages(d, trained.model, real, heldA, heldB);
    const noisy = await evaluateImages(d, trained.model, addGaussianNoise(real, 0.1, 1), heldA, heldB);
    const noisier = await evaluateImages(d, trained.model, addGaussianNoise(real, 0.2, 1), heldA, heldB);
    const blurred = await evaluateImages(d, trained.model, boxBlur3(real, 2), heldA, heldB);
    console.log(`FD at n=${n}: floor ${q.floor.toFixed(3)}, real ${q.fd.toFixed(3)}, noise 0.1 ${noisy.fd.toFixed(3)}, noise 0.2 ${noisier.fd.toFixed(3)}, blur×2 ${blurred.fd.toFixed(3)}; ` +
      `TV ratio floor ${q.tvFloor.toFixed(3)} real ${q.tvRatio.toFixed(3)} noise 0.1 ${noisy.tvRatio.toFixed(3)} blur×2 ${blurred.tvRatio.toFixed(3)}; ` +
      `confidence real ${q.meanConfidence.toFixed(3)} noise 0.1 ${noisy.meanConfidence.toFixed(3)} blur×2 ${blurred.meanConfidence.toFixed(3)}`);
    expect(q.histogram.reduce((a, b) => a + b, 0)).toBe(n);
    expect(q.classesPresent).toBe(10);
    expect(q.meanConfidence).toBeGreaterThan(0.85);
    const ref = Math.max(q.fd, q.floor);
    expect(q.fd).toBeLessThan(1.5 * q.floor);
    expect(blurred.fd).toBeGreaterThan(10 * ref);
    expect(noisier.fd).toBeGreaterThan(4 * ref);
    // σ = 0.1 is faint in the classifier's features (about +1 over a floor of ~1.6 here) …
    expect(noisy.fd).toBeGreaterThan(1.3 * ref);
    // … and plain in the pixel statistic
    expect(Math.abs(q.tvRatio - 1)).toBeLessThan(0.05);
    expect(noisy.tvRatio).toBeGreaterThan(1.3);
    expect(blurred.tvRatio).toBeLessThan(0.8);
  }, 180_000);

  it("evaluateImageSamples (what `scoregpu eval` reports): real training images score near the floor, the blur×2 and noise-0.1 rows worse; either data range gives the same figures", async () => {
    const set = loadImageSet('fashion-mnist');
    const n = 1000;
    const start = 784 * new Rng(TEST_SEED).int(50_000);
    const real = Float32Array.from(set.train.subarray(start, start + n * 784), (v) => v / 255);
    const r = await evaluateImageSamples(d, trained.model, set, real, '[0,1]', { references: true, seed: TEST_SEED });
    console.log(`n=${n}: train images FD ${r.fd.toFixed(2)} (floor ${r.floor.toFixed(2)}), blur×2 ${r.references![0].quality.fd.toFixed(2)}, noise 0.1 ${r.references![1].quality.fd.toFixed(2)}`);
    expect(r.n).toBe(n);
    expect(r.fdOverFloor).toBeLessThan(1.6);
    expect(r.classesPresent).toBe(10);
    const ref = Math.max(r.fd, r.floor);
    expect(r.references!.map((x) => x.name)).toEqual(['blur×2', 'noise 0.1']);
    expect(r.references![0].quality.fd).toBeGreaterThan(5 * ref);
    expect(r.references![1].quality.fd).toBeGreaterThan(2 * ref);
    // the same images handed over in [−1, 1]; and out-of-range values are clamped, not scored raw
    const r2 = await evaluateImageSamples(d, trained.model, set, real.map((v) => 2 * v - 1), '[-1,1]', { seed: TEST_SEED });
    expect(r2.fd).toBeCloseTo(r.fd, 6);
    const over = await evaluateImageSamples(d, trained.model, set, real.map((v) => (v > 0.5 ? 3 : v)), '[0,1]', { seed: TEST_SEED });
    const clamped = await evaluateImageSamples(d, trained.model, set, real.map((v) => (v > 0.5 ? 1 : v)), '[0,1]', { seed: TEST_SEED });
    expect(over.fd).toBeCloseTo(clamped.fd, 6);
    expect(() => checkClassifierShape([3, 28, 28], 28)).toThrow(/needs 1×28×28 images; this model makes 3×28×28/);
    await expect(evaluateImageSamples(d, trained.model, set, real.subarray(0, 784 * 3 + 5), '[0,1]')).rejects.toThrow(/not a whole number/);
  }, 240_000);

  it("the shipped classifier (models/fmnist-eval-classifier) comes first, is this recipe's, and scores its stored accuracy here", async () => {
    const file = shippedClassifierPath();
    expect(file).toMatch(/models[/\\]fmnist-eval-classifier[/\\]classifier\.safetensors$/);
    const empty = mkdtempSync(join(tmpdir(), 'scoregpu-clf-empty-'));
    const lines: string[] = [];
    const s = await loadOrTrainClassifier(d, { cacheDir: empty, log: (l) => lines.push(l) });
    expect(s.source).toBe('shipped');
    expect(s.path).toBe(file);
    expect(lines.join('\n')).toMatch(/classifier: shipped .*test accuracy/);
    expect(readdirSync(empty)).toEqual([]); // nothing trained, nothing cached
    // the same data and recipe as a fresh training run (its accuracy is that run's to within a few tenths)
    expect(s.recipe).toEqual(trained.recipe);
    expect(s.config).toEqual(trained.config);
    expect(s.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(s.testAccuracy - trained.testAccuracy)).toBeLessThan(0.01);
    // measured again on this adapter: the stored accuracy (an argmax may flip on another GPU's rounding)
    const acc = await testAccuracy(d, s.model, test);
    expect(Math.abs(acc - s.testAccuracy)).toBeLessThan(0.002);
    // a shipped file that is not the one asked for (here also corrupted) is passed over, even when strict
    const bad = new Uint8Array(readFileSync(file!));
    bad[bad.length - 9] ^= 0x20;
    const badFile = join(empty, 'shipped-bad.safetensors');
    writeFileSync(badFile, bad);
    const small = (x: ImageSplit, n: number): ImageSplit => ({ ...x, n, images: x.images.subarray(0, n * 784), labels: x.labels.subarray(0, n) });
    const r = await loadOrTrainClassifier(d, { cacheDir: empty, shipped: badFile, strict: true, epochs: 1, train: small(loadFashionMnist(FASHION_MNIST_DIR, 'train'), 512), test: small(test, 128), config: { convChannels: [8, 8], features: 16 } });
    expect(r.source).toBe('trained');
    expect(r.retrainReason).toMatch(/another architecture|another recipe|does not match/);
    s.arena.data.dispose();
    rmSync(empty, { recursive: true, force: true });
  }, 120_000);

  it('cleans up', () => {
    for (const f of readdirSync(cacheDir)) expect(f.endsWith('.tmp')).toBe(false);
    rmSync(cacheDir, { recursive: true, force: true });
  });
});
