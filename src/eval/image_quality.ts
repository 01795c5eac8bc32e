// Sample quality for 28×28 grey images, measured with a small classifier the engine trains itself
// on Fashion-MNIST (src/eval/fmnist_classifier.ts) instead of Inception:
//
//   FD    Fréchet distance between Gaussian fits of the classifier's penultimate features of the
//         samples and of held-out test images (FID's formula, on features that mean something for
//         Fashion-MNIST), reported beside its floor: the same distance between two disjoint real
//         test sets of the samples' size — what a perfect generator would score at that n.
//   classes   histogram of the classifier's argmax over the samples, and how many classes appear
//   confidence  mean max-softmax probability (low: the samples look like no class in particular)
//   TV ratio  mean total variation (|horizontal| + |vertical| neighbour differences) of the samples
//         over that of the held-out images: the classifier's features hardly see fine pixel noise
//         (σ = 0.1 on [−1, 1] moves the FD by about the floor), so this pixel statistic reports it
//         (> 1: noisier than real images, < 1: smoother), with its own floor heldB/heldA.
//
// The classifier runs on the GPU (engine kernels); the statistics on the host in float64.
// `boxBlur3` and `addGaussianNoise` make reference degradations of real images (CPU: they build
// reference data, not model computation), to show how the FD moves with known damage.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import type { ConvClassifier } from '../nn/classifier.js';
import { Rng } from '../data/rng.js';
import { frechetFromStats, meanCov } from './metrics.js';

/** Features [n, F] and logits [n, classes] of the classifier over images [n, C, H, W]. */
export interface ImageOutputs {
  n: number;
  featureDim: number;
  classes: number;
  features: Float32Array;
  logits: Float32Array;
}

function imageCount(clf: ConvClassifier, images: ArrayLike<number>, what: string): number {
  const { channels: c, imageSize: s } = clf.cfg;
  const per = c * s * s;
  const n = images.length / per;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: ${images.length} values are not whole images of [${c}, ${s}, ${s}]`);
  return n;
}

/** Run the classifier over images (f32 [n, C, H, W] in [-1, 1]) in batches; read features and logits. */
export async function classifierOutputs(device: Device, clf: ConvClassifier, images: Float32Array, batch = 500): Promise<ImageOutputs> {
  const n = imageCount(clf, images, 'classifierOutputs');
  const { channels: c, imageSize: s, features: F, classes: K } = clf.cfg;
  const per = c * s * s;
  const features = new Float32Array(n * F);
  const logits = new Float32Array(n * K);
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const out = noGrad(() =>
      device.scope(() => {
        const x = Tensor.fromArray(device, images.subarray(i * per, (i + b) * per), [b, c, s, s], 'classifier input');
        return clf.forward(x);
      }),
    );
    const [f, l] = await Promise.all([out.features.toArray(), out.logits.toArray()]);
    out.features.dispose();
    out.logits.dispose();
    features.set(f, i * F);
    logits.set(l, i * K);
  }
  return { n, featureDim: F, classes: K, features, logits };
}

/** Penultimate features [n, F] of images [n, 1, 28, 28] in [-1, 1]. */
export async function imageFeatures(device: Device, clf: ConvClassifier, images: Float32Array, batch = 500): Promise<Float32Array> {
  return (await classifierOutputs(device, clf, images, batch)).features;
}

/** Fréchet distance between Gaussian fits of two feature sets [n, dim] (dim from the classifier: 128). */
export function frechetImageDistance(featsA: ArrayLike<number>, featsB: ArrayLike<number>, dim = 128): number {
  const a = meanCov(featsA, dim);
  const b = meanCov(featsB, dim);
  return frechetFromStats(a.mean, a.cov, b.mean, b.cov, dim);
}

/** Argmax class of each row of logits [n, classes]. */
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}

/** Counts per class of the argmax of logits [n, classes]. */
export function classHistogram(logits: ArrayLike<number>, classes: number): number[] {
  const h = new Array<number>(classes).fill(0);
  for (const k of argmaxRows(logits, classes)) h[k]++;
  return h;
}

/** Mean over rows of the largest softmax probability of logits [n, classes]. */
export function meanConfidence(logits: ArrayLike<number>, classes: number): number {
  const n = logits.length / classes;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[i * classes + k]);
    let z = 0;
    for (let k = 0; k < classes; k++) z += Math.exp(logits[i * classes + k] - m);
    total += 1 / z; // max prob = e^(m−m)/Σ e^(l−m)
  }
  return total / Math.max(1, n);
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: ArrayLike<number>, classes: number, labels: ArrayLike<number>): number {
  const am = argmaxRows(logits, classes);
  let ok = 0;
  for (let i = 0; i < am.length; i++) if (am[i] === labels[i]) ok++;
  return ok / am.length;
}

export interface ImageQuality {
  /** Samples vs heldA. */
  fd: number;
  /** heldA vs heldB: the FD of a perfect generator at this sample size. */
  floor: number;
  /** Samples counted by the classifier's argmax class. */
  histogram: number[];
  /** Mean max-softmax probability over the samples. */
  meanConfidence: number;
  /** Classes given to at least one sample. */
  classesPresent: number;
  /** totalVariation(samples) / totalVariation(heldA). */
  tvRatio: number;
  /** totalVariation(heldB) / totalVariation(heldA): what real images score. */
  tvFloor: number;
  n: number;
}

/**
 * Quality of generated images against two disjoint sets of real held-out images (f32
 * [n, 1, 28, 28] in [-1, 1]). heldA and heldB should have the samples' size: the FD's bias
 * depends on n, so the floor is only comparable at the same n.
 */
export async function evaluateImages(device: Device, clf: ConvClassifier, samples: Float32Array, heldA: Float32Array, heldB: Float32Array, batch = 500): Promise<ImageQuality> {
  const s = await classifierOutputs(device, clf, samples, batch);
  const a = await imageFeatures(device, clf, heldA, batch);
  const b = await imageFeatures(device, clf, heldB, batch);
  const F = s.featureDim;
  const S = clf.cfg.imageSize;
  const histogram = classHistogram(s.logits, s.classes);
  return {
    fd: frechetImageDistance(s.features, a, F),
    floor: frechetImageDistance(a, b, F),
    histogram,
    meanConfidence: meanConfidence(s.logits, s.classes),
    classesPresent: histogram.filter((c) => c > 0).length,
    tvRatio: totalVariation(samples, S, S) / totalVariation(heldA, S, S),
    tvFloor: totalVariation(heldB, S, S) / totalVariation(heldA, S, S),
    n: s.n,
  };
}

/**
 * Mean total variation of images [n, C, h, w]: per pixel, |x[y][x+1] − x[y][x]| + |x[y+1][x] − x[y][x]|
 * summed over the neighbour pairs inside each plane, divided by the number of pixels.
 */
export function totalVariation(images: ArrayLike<number>, h = 28, w = 28): number {
  const plane = h * w;
  if (images.length % plane) throw new Error(`totalVariation: ${images.length} values are not whole ${h}×${w} planes`);
  let tv = 0;
  for (let o = 0; o < images.length; o += plane) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = images[o + y * w + x];
        if (x + 1 < w) tv += Math.abs(images[o + y * w + x + 1] - v);
        if (y + 1 < h) tv += Math.abs(images[o + (y + 1) * w + x] - v);
      }
    }
  }
  return tv / Math.max(1, images.length);
}

// ------------------------------------------------------------------ reference degradations (CPU)

/**
 * 3×3 box blur of images [n, C, H, W] (each channel plane separately), applied `times` times; same
 * size, edges replicated (a border pixel averages itself in place of the missing neighbours).
 */
export function boxBlur3(images: Float32Array, times = 1, h = 28, w = 28): Float32Array {
  const plane = h * w;
  if (images.length % plane) throw new Error(`boxBlur3: ${images.length} values are not whole ${h}×${w} planes`);
  let src = Float32Array.from(images);
  let dst = new Float32Array(images.length);
  for (let t = 0; t < times; t++) {
    for (let o = 0; o < images.length; o += plane) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) {
            const yy = Math.min(h - 1, Math.max(0, y + dy));
            for (let dx = -1; dx <= 1; dx++) {
              const xx = Math.min(w - 1, Math.max(0, x + dx));
              s += src[o + yy * w + xx];
            }
          }
          dst[o + y * w + x] = s / 9;
        }
      }
    }
    [src, dst] = [dst, src];
  }
  return src;
}

/** images + N(0, std²) per pixel (seeded), not clipped. */
export function addGaussianNoise(images: Float32Array, std: number, seed = 0): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i] + std * r.normal();
  return out;
}
