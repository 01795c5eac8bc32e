// Quality of an image model's samples, measured against real held-out images the way the README's
// table reports it: the Fréchet distance in the Fashion-MNIST classifier's feature space with its
// real-vs-real floor at the same n, the class histogram and confidence, total variation — and, on
// request, the same figures for two degraded copies of real images (blurred twice by a 3×3 box,
// Gaussian noise of std 0.1) so that a number has something to stand beside.
import type { Device } from '../gpu/device.js';
import type { ConvClassifier } from '../nn/classifier.js';
import type { ImageSet } from '../data/images.js';
import { heldPair } from '../data/images.js';
import { evaluateImages, boxBlur3, addGaussianNoise, type ImageQuality } from './image_quality.js';

export interface ReferenceRow {
  name: string;
  what: string;
  quality: ImageQuality;
}

export interface ImageEvalReport extends ImageQuality {
  /** fd / floor: 1 is a perfect generator at this n. */
  fdOverFloor: number;
  references?: ReferenceRow[];
}

/** Images in a data range → the classifier's [−1, 1], clamped (samplers may overshoot the range). */
export function toClassifierRange(x: Float32Array, range: '[0,1]' | '[-1,1]'): Float32Array {
  const out = new Float32Array(x.length);
  if (range === '[0,1]') for (let i = 0; i < x.length; i++) out[i] = Math.min(1, Math.max(-1, 2 * x[i] - 1));
  else for (let i = 0; i < x.length; i++) out[i] = Math.min(1, Math.max(-1, x[i]));
  return out;
}

/** The shape the classifier reads; anything else gets a one-line error naming the shape. */
export function checkClassifierShape(shape: readonly number[], size: number): void {
  if (shape.length !== 3 || shape[0] !== 1 || shape[1] !== size || shape[2] !== size) {
    throw new Error(`image metrics: the Fréchet distance uses the Fashion-MNIST classifier and needs 1×${size}×${size} images; this model makes ${shape.join('×')}`);
  }
}

/**
 * Score `samples` ([n, 1, S, S] in `range`) against two disjoint held-out sets of the same n drawn
 * from `set`'s test split (seeded, so every model is compared with the same real images).
 */
export async function evaluateImageSamples(
  device: Device, clf: ConvClassifier, set: ImageSet, samples: Float32Array, range: '[0,1]' | '[-1,1]',
  o: { references?: boolean; seed?: number } = {},
): Promise<ImageEvalReport> {
  const S = clf.cfg.imageSize;
  checkClassifierShape(set.shape, S);
  const per = S * S;
  const n = Math.floor(samples.length / per);
  if (n < 2 || n * per !== samples.length) throw new Error(`image metrics: ${samples.length} values are not a whole number (≥ 2) of ${S}×${S} images`);
  const held = heldPair(set, n, o.seed ?? 0);
  const a = toClassifierRange(held.a, '[0,1]'), b = toClassifierRange(held.b, '[0,1]');
  const q = await evaluateImages(device, clf, toClassifierRange(samples, range), a, b);
  const report: ImageEvalReport = { ...q, fdOverFloor: q.fd / q.floor };
  if (o.references) {
    // degrade heldB (not heldA, which every row is compared against)
    const blur = boxBlur3(held.b, 2, S, S);
    const noisy = addGaussianNoise(held.b, 0.1, o.seed ?? 0);
    report.references = [
      { name: 'blur×2', what: 'real test images blurred twice by a 3×3 box filter', quality: await evaluateImages(device, clf, toClassifierRange(blur, '[0,1]'), a, b) },
      { name: 'noise 0.1', what: 'real test images plus Gaussian noise of std 0.1 (clamped)', quality: await evaluateImages(device, clf, toClassifierRange(noisy, '[0,1]'), a, b) },
    ];
  }
  return report;
}
