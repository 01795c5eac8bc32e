// One entry point for "give me training data and held-out sets": a toy name, a .npy file of
// [N, D] rows, or an IDX image set (Fashion-MNIST, or an MNIST-format directory / file pair).
// held and held2 are two disjoint held-out sets of the same size; the sample metrics use
// metric(held, held2) as their noise floor. Browser-safe: file reading goes through Node's
// built-ins only when asked to read a path.

import { nodeBuiltin } from '../io/builtin.js';
import { decodeNpy } from '../io/npy.js';
import { FASHION_MNIST_DIR, imagesToFloat, loadFashionMnist, loadIdxImageDir } from './idx.js';
import { deriveSeed, Rng } from './rng.js';
import { isToyName, sampleToy, TOY_SETS } from './toy.js';
import { FileError } from '../gpu/errors.js';

export interface DatasetOptions {
  seed?: number;
  /** Training rows. Toy: drawn fresh (default 50000). Files: default all rows not held out. */
  nTrain?: number;
  /** Rows in each held-out set. Default 2000 (files: at most 10% of the rows each). */
  nHeld?: number;
}

export interface Dataset {
  /** Row-major [nTrain, dim]. */
  train: Float32Array;
  /** Row-major [nHeld, dim], disjoint from train. */
  held: Float32Array;
  /** Row-major [nHeld, dim], disjoint from train and held (toy sets: an independent draw). */
  held2: Float32Array;
  dim: number;
  /** Where the data came from: 'toy', 'npy' or 'images'. */
  kind: 'toy' | 'npy' | 'images';
  /** Per-row shape for images ([c, h, w]); [dim] otherwise. */
  shape: number[];
  /** A short name (the toy name, the file's base name, 'fashion-mnist'). */
  name: string;
}

/**
 * spec: one of TOY_SETS; a path to a .npy file ([N, D] float32/float64); 'fashion-mnist'
 * (Debian's dataset-fashion-mnist) or 'fashion-mnist:<dir>' or 'idx:<dir>' for an MNIST-format
 * directory. Images come as rows of c·h·w floats in [-1, 1].
 */
export function loadDataset(spec: string, opts: DatasetOptions = {}): Dataset {
  const seed = opts.seed ?? 0;
  if (isToyName(spec)) {
    const nTrain = opts.nTrain ?? 50000;
    const nHeld = opts.nHeld ?? 2000;
    return {
      train: sampleToy(spec, nTrain, deriveSeed(seed, 0)),
      held: sampleToy(spec, nHeld, deriveSeed(seed, 1)),
      held2: sampleToy(spec, nHeld, deriveSeed(seed, 2)),
      dim: 2,
      kind: 'toy',
      shape: [2],
      name: spec,
    };
  }
  if (spec === 'fashion-mnist' || spec.startsWith('fashion-mnist:') || spec.startsWith('idx:')) {
    const dir = spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : FASHION_MNIST_DIR;
    const load = spec.startsWith('idx:') ? loadIdxImageDir : loadFashionMnist;
    const tr = load(dir, 'train');
    const te = load(dir, 'test');
    const dim = tr.h * tr.w;
    const nHeld = opts.nHeld ?? Math.min(2000, Math.floor(te.n / 2));
    if (2 * nHeld > te.n) throw new FileError(dir, `nHeld=${nHeld} needs ${2 * nHeld} test images, have ${te.n}`);
    const nTrain = opts.nTrain ?? tr.n;
    if (nTrain > tr.n) throw new FileError(dir, `nTrain=${nTrain} but only ${tr.n} training images`);
    const train = nTrain === tr.n ? imagesToFloat(tr.images) : imageRows(tr.images, new Rng(deriveSeed(seed, 0)).permutation(tr.n).subarray(0, nTrain), dim);
    const perm = new Rng(deriveSeed(seed, 1)).permutation(te.n);
    return {
      train,
      held: imageRows(te.images, perm.subarray(0, nHeld), dim),
      held2: imageRows(te.images, perm.subarray(nHeld, 2 * nHeld), dim),
      dim,
      kind: 'images',
      shape: [1, tr.h, tr.w],
      name: spec.startsWith('idx:') ? dir : 'fashion-mnist',
    };
  }
  if (spec.toLowerCase().endsWith('.npy')) {
    const fs = nodeBuiltin('node:fs');
    if (!fs) throw new Error(`loadDataset(${spec}): reading files needs Node; use splitRows on decoded data instead`);
    let bytes: Uint8Array;
    try {
      const b = fs.readFileSync(spec);
      bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new FileError(spec, code === 'ENOENT' ? 'no such .npy file' : `cannot read (${(e as Error).message})`);
    }
    const { data, dim } = npyRows(bytes, spec);
    const s = splitRows(data, dim, { ...opts, seed }, spec);
    return { ...s, dim, kind: 'npy', shape: [dim], name: spec.split(/[\\/]/).pop() ?? spec };
  }
  throw new Error(
    `unknown data set '${spec}': expected a toy set (${TOY_SETS.join(', ')}), a path to a .npy file, ` +
      `'fashion-mnist', 'fashion-mnist:<dir>' or 'idx:<dir>'`,
  );
}

/** Decode .npy bytes holding [N, D] float32/float64 rows into Float32 rows; errors name `name`. */
export function npyRows(bytes: Uint8Array, name: string): { data: Float32Array; n: number; dim: number } {
  const npy = decodeNpy(bytes, name);
  if (npy.dtype !== 'f4' && npy.dtype !== 'f8') {
    throw new FileError(name, `data must be float32 or float64, got dtype ${npy.dtype} (convert with a.astype(np.float32))`);
  }
  if (npy.shape.length !== 2) {
    throw new FileError(name, `data must be a 2-D array [N, D], got shape [${npy.shape.join(', ')}]`);
  }
  const [n, dim] = npy.shape;
  if (n === 0 || dim === 0) throw new FileError(name, `empty array of shape [${n}, ${dim}]`);
  const src = npy.data as Float32Array | Float64Array;
  for (let i = 0; i < src.length; i++) {
    if (!Number.isFinite(src[i])) {
      const row = Math.floor(i / dim);
      throw new FileError(name, `non-finite value ${src[i]} at row ${row}, column ${i % dim}`);
    }
  }
  const data = src instanceof Float32Array ? src : Float32Array.from(src);
  return { data, n, dim };
}

/**
 * Deterministic split of [N, dim] rows by seed: a permutation; the first nHeld rows are `held`,
 * the next nHeld `held2`, then nTrain rows (default: all the rest) `train`.
 */
export function splitRows(
  data: Float32Array,
  dim: number,
  opts: DatasetOptions = {},
  name = 'data',
): { train: Float32Array; held: Float32Array; held2: Float32Array } {
  const n = Math.floor(data.length / dim);
  if (n * dim !== data.length) throw new FileError(name, `${data.length} values do not make rows of ${dim}`);
  const nHeld = opts.nHeld ?? Math.min(2000, Math.floor(n / 10));
  if (nHeld < 1) throw new FileError(name, `${n} rows are too few to hold out two evaluation sets (need at least 10)`);
  const rest = n - 2 * nHeld;
  const nTrain = opts.nTrain ?? rest;
  if (nTrain < 1 || nTrain > rest) {
    throw new FileError(name, `${n} rows cannot give 2×${nHeld} held-out rows and ${nTrain} training rows`);
  }
  const perm = new Rng(deriveSeed(opts.seed ?? 0, 3)).permutation(n);
  return {
    held: takeRows(data, perm.subarray(0, nHeld), dim),
    held2: takeRows(data, perm.subarray(nHeld, 2 * nHeld), dim),
    train: takeRows(data, perm.subarray(2 * nHeld, 2 * nHeld + nTrain), dim),
  };
}

/** Gather rows `idx` of a row-major [*, dim] array. */
export function takeRows(data: Float32Array, idx: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) out.set(data.subarray(idx[i] * dim, idx[i] * dim + dim), i * dim);
  return out;
}

/** Rows `idx` of u8 images [n, dim] as floats in [-1, 1]. */
function imageRows(images: Uint8Array, idx: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  for (let i = 0; i < idx.length; i++) {
    const o = idx[i] * dim;
    for (let k = 0; k < dim; k++) out[i * dim + k] = (images[o + k] / 255) * 2 - 1;
  }
  return out;
}
