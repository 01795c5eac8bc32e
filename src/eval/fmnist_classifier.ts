// The Fashion-MNIST classifier behind the image-quality metric (src/eval/image_quality.ts): trained
// by the engine on the 60k training images (AdamW, cross-entropy, shuffled batches, recorded step
// replayed once per batch), tested on the 10k test images, and cached as a safetensors file under
// $XDG_CACHE_HOME/scoregpu (or ~/.cache/scoregpu) with its test accuracy, architecture, training
// recipe and the SHA-256 of its weights in the metadata. A cached file whose weights no longer
// match the hash (or that does not parse, or was made for another recipe) is retrained.
// The package ships the one its README figures were measured with (models/fmnist-eval-classifier/):
// it comes first when its architecture and recipe are the ones asked for, so Fréchet distances
// compare across machines and sessions (another GPU would train slightly other weights), without
// the ~5-minute retraining.
//
// Node for the cache and the data files (reached through src/io/builtin.ts, so this file bundles for
// the browser too, where it trains on data passed in and caches nothing).
import type { Device, Recording } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { grad } from '../autograd/engine.js';
import { gather, copyInto } from '../tensor/ops/layout.js';
import { ByteRows } from '../tensor/ops/bytes.js';
import { accumulate, unary } from '../tensor/ops/elementwise.js';
import { materialize, type ParamArena } from '../nn/module.js';
import { ConvClassifier, crossEntropy, defaultClassifierConfig, oneHot, type ClassifierConfig } from '../nn/classifier.js';
import { AdamW, defaultAdam, type AdamConfig } from '../train/optimizer.js';
import { loadFashionMnist, imagesToFloat, FASHION_MNIST_DIR, type ImageSplit } from '../data/idx.js';
import { Rng } from '../data/rng.js';
import { nodeBuiltin } from '../io/builtin.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/fs.js';
import { accuracy, classifierOutputs } from './image_quality.js';

export const CLASSIFIER_FORMAT = 'scoregpu-fmnist-classifier-1';

export interface ClassifierTrainOptions {
  /** Architecture (defaults: defaultClassifierConfig()). */
  config?: Partial<ClassifierConfig>;
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate (cosine decay to 5 % of it over the run, short warm-up). Defaults: 3 epochs, batch 128, lr 5e-3. */
  lr?: number;
  weightDecay?: number;
  /** Seed of the batch order (the weights' init seed is config.seed). */
  seed?: number;
  /** Fashion-MNIST directory (IDX files), when train/test are not given. */
  dataDir?: string;
  train?: ImageSplit;
  test?: ImageSplit;
  /** Progress lines (loss every `logEvery` steps, the result). */
  log?: (line: string) => void;
  logEvery?: number;
}

/** The recipe a classifier was trained with (stored in the cache; part of its key). */
export interface ClassifierRecipe {
  /** The data it was trained and tested on: 'idx:<dir>', or 'custom:<sha256 prefix>' of the splits passed in. */
  data: string;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
}

export interface TrainedClassifier {
  model: ConvClassifier;
  arena: ParamArena;
  config: ClassifierConfig;
  recipe: ClassifierRecipe;
  /** Accuracy on the test split (10k images for Fashion-MNIST). */
  testAccuracy: number;
  /** Hex SHA-256 of the weights (see weightsHash). */
  sha256: string;
  /** Wall-clock seconds of training (0 when loaded). */
  trainSeconds: number;
  steps: number;
  source: 'trained' | 'cache' | 'shipped';
  /** Why a cache file present was not used. */
  retrainReason?: string;
  path?: string;
}

/** The recipe the options describe (defaults filled in, the data fingerprinted). */
export async function resolveRecipe(o: ClassifierTrainOptions = {}): Promise<ClassifierRecipe> {
  let data = `idx:${o.dataDir ?? FASHION_MNIST_DIR}`;
  if (o.train || o.test) {
    const parts = [o.train, o.test].flatMap((s) => (s ? [s.images, s.labels] : [new Uint8Array(0), new Uint8Array(0)]));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length + 8, 0));
    let off = 0;
    for (const p of parts) {
      new DataView(all.buffer).setFloat64(off, p.length, true);
      all.set(p, off + 8);
      off += p.length + 8;
    }
    data = `custom:${(await sha256(all)).slice(0, 16)}`;
  }
  return { data, epochs: o.epochs ?? 3, batchSize: o.batchSize ?? 128, lr: o.lr ?? 5e-3, weightDecay: o.weightDecay ?? 0, seed: o.seed ?? 0 };
}

// ------------------------------------------------------------------ training

/** Test accuracy of a classifier over an image split (GPU forward, argmax on the host). */
export async function testAccuracy(device: Device, model: ConvClassifier, split: ImageSplit, batch = 500): Promise<number> {
  const out = await classifierOutputs(device, model, imagesToFloat(split.images), batch);
  return accuracy(out.logits, out.classes, split.labels);
}

/**
 * Train the classifier on the training split and measure it on the test split. One step — gather
 * the batch (bytes scaled to [−1, 1] on the device), cross-entropy, backward, AdamW — is recorded
 * once and replayed; the batch indices (a fresh permutation each epoch) are written before each
 * replay; the loss is read back every `logEvery` steps.
 */
export async function trainClassifier(device: Device, opts: ClassifierTrainOptions = {}): Promise<TrainedClassifier> {
  const config = defaultClassifierConfig(opts.config);
  const recipe = await resolveRecipe(opts);
  const train = opts.train ?? loadFashionMnist(opts.dataDir ?? FASHION_MNIST_DIR, 'train');
  const test = opts.test ?? loadFashionMnist(opts.dataDir ?? FASHION_MNIST_DIR, 'test');
  const { channels: C, imageSize: S } = config;
  if (train.h !== S || train.w !== S || C !== 1) throw new Error(`trainClassifier: images are ${train.h}×${train.w}, the classifier wants ${C}×${S}×${S}`);
  const log = opts.log ?? (() => {});
  const logEvery = opts.logEvery ?? 100;
  const B = recipe.batchSize;
  const perEpoch = Math.floor(train.n / B);
  if (perEpoch < 1) throw new Error(`trainClassifier: ${train.n} training images are fewer than one batch of ${B}`);
  const total = perEpoch * recipe.epochs;

  const model = new ConvClassifier(config);
  const arena = materialize(device, model);
  const optim: AdamConfig = defaultAdam({
    lr: recipe.lr, weightDecay: recipe.weightDecay, clipNorm: 5, warmup: Math.min(50, total >> 3), schedule: 'cosine', decaySteps: total, lrEndFactor: 0.05,
  });
  const opt = new AdamW(device, arena, optim);
  const data = new ByteRows(device, train.images, [C, S, S], 'classifier train images');
  const labels = Tensor.fromArray(device, Float32Array.from(train.labels), [train.n, 1], 'classifier train labels').keep();
  const idx = Tensor.empty(device, [B], 'classifier batch indices').keep();
  const lossAcc = unary('fill', Tensor.empty(device, [1], 'classifier loss'), 0).keep();
  const params = arena.params.map(([, p]) => p.value);
  const gradViews = arena.viewsOf(opt.grads);
  const body = () =>
    device.scope(() => {
      const x = data.gatherScaled(idx, 2 / 255, -1);
      const target = oneHot(gather(labels, idx, 0), config.classes);
      const loss = crossEntropy(model.logits(x), target);
      const gs = grad(loss, params, { allowUnused: true });
      gs.forEach((g, i) => {
        if (g) copyInto(gradViews[i], g);
      });
      opt.update();
      accumulate(lossAcc, loss);
    });

  const rng = new Rng(recipe.seed);
  const batchIdx = new Float32Array(B);
  let recording: Recording | null = null;
  let step = 0, accSteps = 0;
  const t0 = performance.now();
  try {
    for (let e = 0; e < recipe.epochs; e++) {
      const perm = rng.permutation(train.n);
      for (let k = 0; k < perEpoch; k++) {
        for (let j = 0; j < B; j++) batchIdx[j] = perm[k * B + j];
        idx.write(batchIdx);
        step++;
        opt.prepare(step);
        if (step === 1) {
          body(); // eager: creates the constants and compiles the pipelines
          device.flush();
        } else {
          recording ??= device.record(body).recording;
          recording.replay();
        }
        accSteps++;
        if (step % logEvery === 0 || step === total) {
          const l = (await lossAcc.toArray())[0] / accSteps;
          unary('fill', lossAcc, 0, 0, lossAcc);
          accSteps = 0;
          if (!Number.isFinite(l)) throw new Error(`classifier training diverged: loss ${l} at step ${step}`);
          log(`classifier step ${step}/${total} (epoch ${e + 1}) loss ${l.toFixed(4)} ${((performance.now() - t0) / 1000).toFixed(1)}s`);
        }
      }
    }
    await device.sync();
  } finally {
    recording?.dispose();
    data.dispose();
    labels.dispose();
    idx.dispose();
    lossAcc.dispose();
    for (const t of gradViews) t.dispose();
    opt.grads.dispose();
    opt.m.dispose();
    opt.v.dispose();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const acc = await testAccuracy(device, model, test);
  const sha256 = await weightsHash(await namedWeights(arena));
  log(`classifier: test accuracy ${(acc * 100).toFixed(2)} % after ${total} steps, ${trainSeconds.toFixed(1)} s`);
  return { model, arena, config, recipe, testAccuracy: acc, sha256, trainSeconds, steps: total, source: 'trained' };
}

// ------------------------------------------------------------------ weights, hash, cache

type Named = Map<string, { shape: number[]; data: Float32Array }>;

async function namedWeights(arena: ParamArena): Promise<Named> {
  return arena.read();
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error('SHA-256 needs WebCrypto (globalThis.crypto.subtle): Node ≥ 20 or a secure browser context');
  return hex(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/**
 * Hex SHA-256 of a set of named f32 tensors: for each name in sorted order, the name's UTF-8
 * bytes, a 0 byte, the shape as "d0,d1,…", a 0 byte, then the values as little-endian f32.
 */
export async function weightsHash(named: Named): Promise<string> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const name of [...named.keys()].sort()) {
    const v = named.get(name)!;
    parts.push(enc.encode(name), new Uint8Array(1), enc.encode(v.shape.join(',')), new Uint8Array(1));
    parts.push(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
  }
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return sha256(all);
}

/** $XDG_CACHE_HOME/scoregpu, else ~/.cache/scoregpu; null outside Node or without either. */
export function defaultCacheDir(): string | null {
  const path = nodeBuiltin('node:path');
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (!path || !env) return null;
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'scoregpu');
  if (env.HOME) return path.join(env.HOME, '.cache', 'scoregpu');
  return null;
}

/** The package's models/fmnist-eval-classifier/classifier.safetensors (Node; null in a browser or when absent). */
export function shippedClassifierPath(): string | null {
  const fs = nodeBuiltin('node:fs');
  const url = nodeBuiltin('node:url');
  if (!fs || !url) return null;
  let file: string;
  try {
    // this file sits two folders below the package root both as source (src/eval/) and bundled (dist/node/)
    file = url.fileURLToPath(new URL('../../models/fmnist-eval-classifier/classifier.safetensors', import.meta.url));
  } catch {
    return null; // not a file: URL (a bundle served over http)
  }
  return fs.existsSync(file) ? file : null;
}

/** File name of a classifier in the cache: the architecture and recipe in a short key. */
export async function classifierCacheName(config: ClassifierConfig, recipe: ClassifierRecipe): Promise<string> {
  const key = (await sha256(new TextEncoder().encode(JSON.stringify({ config, recipe })))).slice(0, 12);
  return `fmnist-classifier-${config.convChannels.join('-')}-f${config.features}-${key}.safetensors`;
}

/** The classifier as safetensors bytes: weights + metadata (format, config, recipe, accuracy, sha256). */
export async function encodeClassifier(t: TrainedClassifier): Promise<Uint8Array> {
  const named = await namedWeights(t.arena);
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [name, v] of named) tensors[name] = v;
  return encodeSafetensors(tensors, {
    format: CLASSIFIER_FORMAT,
    config: JSON.stringify(t.config),
    recipe: JSON.stringify(t.recipe),
    test_accuracy: String(t.testAccuracy),
    sha256: t.sha256,
    train_seconds: String(t.trainSeconds),
    steps: String(t.steps),
  });
}

export class ClassifierCacheError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierCacheError';
  }
}

/**
 * A classifier from safetensors bytes, its weights verified against the stored SHA-256; throws
 * ClassifierCacheError naming what is wrong (unparsable, other format, hash mismatch, missing or
 * misshapen tensor, other architecture than `expect`).
 */
export async function decodeClassifier(device: Device, bytes: Uint8Array, name: string, expect?: { config?: ClassifierConfig; recipe?: ClassifierRecipe }): Promise<TrainedClassifier> {
  let file;
  try {
    file = decodeSafetensors(bytes, name);
  } catch (e) {
    throw new ClassifierCacheError(`${name}: not a readable safetensors file (${(e as Error).message})`);
  }
  const md = file.metadata;
  if (md.format !== CLASSIFIER_FORMAT) throw new ClassifierCacheError(`${name}: format '${md.format}' is not ${CLASSIFIER_FORMAT}`);
  let config: ClassifierConfig, recipe: ClassifierRecipe;
  try {
    config = JSON.parse(md.config);
    recipe = JSON.parse(md.recipe);
  } catch {
    throw new ClassifierCacheError(`${name}: metadata config/recipe are not JSON`);
  }
  if (expect?.config && JSON.stringify(expect.config) !== JSON.stringify(config)) throw new ClassifierCacheError(`${name}: made for another architecture (${md.config})`);
  if (expect?.recipe && JSON.stringify(expect.recipe) !== JSON.stringify(recipe)) throw new ClassifierCacheError(`${name}: made with another recipe (${md.recipe})`);
  const named: Named = new Map();
  for (const [k, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new ClassifierCacheError(`${name}: tensor '${k}' is ${t.dtype}, expected F32`);
    named.set(k, { shape: t.shape, data: t.data as Float32Array });
  }
  const h = await weightsHash(named);
  if (h !== md.sha256) throw new ClassifierCacheError(`${name}: weights hash ${h.slice(0, 16)}… does not match the stored ${String(md.sha256).slice(0, 16)}… (corrupted)`);
  const model = new ConvClassifier(config);
  const arena = materialize(device, model);
  for (const [pname, p] of arena.params) {
    const v = named.get(pname);
    if (!v || v.shape.join(',') !== p.shape.join(',')) {
      arena.data.dispose();
      throw new ClassifierCacheError(`${name}: tensor '${pname}' ${v ? `has shape [${v.shape}], model wants` : 'missing, shape'} [${p.shape}]`);
    }
  }
  arena.load(named);
  return {
    model, arena, config, recipe, testAccuracy: Number(md.test_accuracy), sha256: h, trainSeconds: 0, steps: Number(md.steps), source: 'cache',
  };
}

export interface LoadOrTrainOptions extends ClassifierTrainOptions {
  /** Directory of the cache file (default defaultCacheDir(); no caching when none). */
  cacheDir?: string;
  /** A classifier file to use when the cache has none (default shippedClassifierPath(); null: none). */
  shipped?: string | null;
  /** Throw ClassifierCacheError on a bad cache file instead of retraining over it. */
  strict?: boolean;
}

/**
 * The classifier for this architecture and recipe: the shipped one if it is that (the README's
 * figures were measured with it), else the cached one if present and intact, else a freshly trained
 * one, written to the cache atomically (temp file + rename).
 */
export async function loadOrTrainClassifier(device: Device, opts: LoadOrTrainOptions = {}): Promise<TrainedClassifier> {
  const config = defaultClassifierConfig(opts.config);
  const recipe = await resolveRecipe(opts);
  const fs = nodeBuiltin('node:fs');
  const path = nodeBuiltin('node:path');
  const dir = opts.cacheDir ?? defaultCacheDir();
  const file = fs && path && dir ? path.join(dir, await classifierCacheName(config, recipe)) : null;
  const shipped = opts.shipped === undefined ? shippedClassifierPath() : opts.shipped;
  const candidates = ([[shipped, 'shipped'], [file, 'cached']] as const).filter(([f]) => f && fs?.existsSync(f));
  let reason: string | undefined;
  for (const [i, [f, what]] of candidates.entries()) {
    try {
      const b = fs!.readFileSync(f!);
      const t = await decodeClassifier(device, new Uint8Array(b.buffer, b.byteOffset, b.byteLength), f!, { config, recipe });
      opts.log?.(`classifier: ${what} ${f} (test accuracy ${(t.testAccuracy * 100).toFixed(2)} %, weights sha256 ${t.sha256.slice(0, 12)}…)`);
      return { ...t, source: what === 'cached' ? 'cache' : 'shipped', path: f! };
    } catch (e) {
      if (!(e instanceof ClassifierCacheError)) throw e;
      // strict is about the cache; a shipped file made for another recipe (the data in another folder,
      // other epochs) is simply not the classifier asked for
      if (opts.strict && what === 'cached') throw e;
      reason = reason ? `${reason}; ${e.message}` : e.message;
      opts.log?.(`classifier: ${e.message}; ${i + 1 < candidates.length ? `trying the ${candidates[i + 1][1]} one` : 'retraining'}`);
    }
  }
  const t = await trainClassifier(device, { ...opts, config });
  if (file) {
    const bytes = await encodeClassifier(t);
    try {
      writeFileAtomic(file, bytes);
    } catch (e) {
      opts.log?.(`classifier: could not write the cache ${file} (${(e as Error).message})`);
    }
  }
  return { ...t, retrainReason: reason, path: file ?? undefined };
}
