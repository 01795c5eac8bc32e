// Image data sets for the image pipeline: Fashion-MNIST (Debian's dataset-fashion-mnist), any
// MNIST-format IDX directory, or an .npy array [N, H, W] / [N, C, H, W] (uint8 0..255, or floats in
// [0, 1]). Pixels stay 8-bit where the source is (the trainer keeps them as bytes on the device and
// scales them in the gather); labels are kept when the source has them. Two disjoint held-out sets
// of the same size give the metrics their real-vs-real floor.
import { nodeBuiltin } from '../io/builtin.js';
import { decodeNpy } from '../io/npy.js';
import { FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadFashionMnist, loadIdxImageDir } from './idx.js';
import { deriveSeed, Rng } from './rng.js';
import { FileError } from '../gpu/errors.js';

export interface ImageSet {
  name: string;
  /** Per-image shape [C, H, W]. */
  shape: [number, number, number];
  /** Training images, bytes 0..255 (or floats in [0, 1] for float sources), C·H·W per image. */
  train: Uint8Array | Float32Array;
  trainLabels: Uint8Array | null;
  /** Held-out test images (all of them; `heldPair` splits two disjoint sets). */
  test: Uint8Array | Float32Array;
  testLabels: Uint8Array | null;
  classes: readonly string[] | null;
}

export function isImageSpec(spec: string): boolean {
  return spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:') || spec.startsWith('idx:') || /\.npy$/i.test(spec) && isImageNpy(spec);
}

function isImageNpy(path: string): boolean {
  const fs = nodeBuiltin('node:fs');
  if (!fs || !fs.existsSync(path)) return false;
  try {
    const fd = fs.openSync(path, 'r');
    const head = Buffer.alloc(256);
    fs.readSync(fd, head, 0, 256, 0);
    fs.closeSync(fd);
    const m = /'shape':\s*\(([^)]*)\)/.exec(head.toString('latin1'));
    return !!m && m[1].split(',').filter((s) => s.trim()).length >= 3;
  } catch {
    return false;
  }
}

export function loadImageSet(spec: string, opts: { seed?: number } = {}): ImageSet {
  if (spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:') || spec.startsWith('idx:')) {
    const dir = spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : FASHION_MNIST_DIR;
    const load = spec.startsWith('idx:') ? loadIdxImageDir : loadFashionMnist;
    const tr = load(dir, 'train');
    const te = load(dir, 'test');
    if (tr.h !== te.h || tr.w !== te.w) throw new FileError(dir, `train images are ${tr.h}×${tr.w}, test images ${te.h}×${te.w}`);
    return {
      name: spec.startsWith('idx:') ? dir : 'fashion-mnist',
      shape: [1, tr.h, tr.w],
      train: tr.images, trainLabels: tr.labels, test: te.images, testLabels: te.labels,
      classes: spec.startsWith('idx:') ? null : FASHION_MNIST_CLASSES,
    };
  }
  if (/\.npy$/i.test(spec)) return loadNpyImages(spec, opts.seed ?? 0);
  throw new Error(`unknown image data set '${spec}': expected 'fashion-mnist', 'fashion-mnist:<dir>', 'idx:<dir>' or an image .npy [N, H, W] / [N, C, H, W]`);
}

function loadNpyImages(path: string, seed: number): ImageSet {
  const fs = nodeBuiltin('node:fs');
  if (!fs) throw new Error(`${path}: reading files needs Node`);
  let b: Uint8Array;
  try {
    b = fs.readFileSync(path);
  } catch (e) {
    throw new FileError(path, (e as { code?: string }).code === 'ENOENT' ? 'no such .npy file' : `cannot read (${(e as Error).message})`);
  }
  const npy = decodeNpy(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
  const sh = npy.shape;
  if (sh.length !== 3 && sh.length !== 4) throw new FileError(path, `image arrays are [N, H, W] or [N, C, H, W], got shape [${sh.join(', ')}]`);
  const shape: [number, number, number] = sh.length === 3 ? [1, sh[1], sh[2]] : [sh[1], sh[2], sh[3]];
  const n = sh[0];
  if (shape.some((d) => d < 1)) throw new FileError(path, `images of shape [${shape.join(', ')}] hold no pixels`);
  if (n < 20) throw new FileError(path, `${n} images are too few (need at least 20: 10% are held out twice)`);
  const per = shape[0] * shape[1] * shape[2];
  let all: Uint8Array | Float32Array;
  if (npy.dtype === 'u1') all = npy.data as Uint8Array;
  else if (npy.dtype === 'f4' || npy.dtype === 'f8') {
    const src = npy.data as Float32Array | Float64Array;
    for (let i = 0; i < src.length; i++) {
      if (!(src[i] >= -1e-6 && src[i] <= 1 + 1e-6)) throw new FileError(path, `float images must lie in [0, 1]; value ${src[i]} at image ${Math.floor(i / per)}`);
    }
    all = src instanceof Float32Array ? src : Float32Array.from(src);
  } else throw new FileError(path, `image dtype must be uint8 (0..255) or float32/float64 in [0, 1], got ${npy.dtype}`);
  const perm = new Rng(deriveSeed(seed, 5)).permutation(n);
  const nTest = Math.max(2, Math.floor(n / 5));
  const take = (idx: ArrayLike<number>) => {
    const out = all instanceof Uint8Array ? new Uint8Array(idx.length * per) : new Float32Array(idx.length * per);
    for (let i = 0; i < idx.length; i++) out.set(all.subarray(idx[i] * per, idx[i] * per + per), i * per);
    return out;
  };
  return {
    name: path.split(/[\\/]/).pop() ?? path,
    shape,
    train: take(perm.subarray(nTest)), trainLabels: null,
    test: take(perm.subarray(0, nTest)), testLabels: null,
    classes: null,
  };
}

/** Images as floats in the process's range: [0, 1] or [−1, 1]. */
export function toRange(images: Uint8Array | Float32Array, range: '[0,1]' | '[-1,1]'): Float32Array {
  const out = new Float32Array(images.length);
  const k = images instanceof Uint8Array ? 1 / 255 : 1;
  for (let i = 0; i < images.length; i++) out[i] = range === '[0,1]' ? images[i] * k : images[i] * k * 2 - 1;
  return out;
}

/** The byte → float map for a range (the gather's scale and shift). */
export function byteScale(range: '[0,1]' | '[-1,1]'): { scale: number; shift: number } {
  return range === '[0,1]' ? { scale: 1 / 255, shift: 0 } : { scale: 2 / 255, shift: -1 };
}

/** Two disjoint sets of n test images (by a seeded permutation), each with its labels. */
export function heldPair(set: ImageSet, n: number, seed = 0): { a: Float32Array; b: Float32Array; aLabels: Uint8Array | null; bLabels: Uint8Array | null } {
  const per = set.shape[0] * set.shape[1] * set.shape[2];
  const total = set.test.length / per;
  if (2 * n > total) throw new Error(`${set.name}: two held-out sets of ${n} need ${2 * n} test images, have ${total}`);
  const perm = new Rng(deriveSeed(seed, 6)).permutation(total);
  const pick = (lo: number) => {
    const imgs = new Float32Array(n * per);
    const labels = set.testLabels ? new Uint8Array(n) : null;
    for (let i = 0; i < n; i++) {
      const j = perm[lo + i];
      for (let k = 0; k < per; k++) imgs[i * per + k] = set.test instanceof Uint8Array ? set.test[j * per + k] / 255 : set.test[j * per + k];
      if (labels) labels[i] = set.testLabels![j];
    }
    return { imgs, labels };
  };
  const A = pick(0), B = pick(n);
  return { a: A.imgs, b: B.imgs, aLabels: A.labels, bLabels: B.labels };
}
