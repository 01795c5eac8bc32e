// `scoregpu inpaint`: complete Fashion-MNIST test images (or a PNG) under a mask with an image run's
// model — score_sde's projection after every step, RePaint's resampling with --resample R --jump J —
// writing a grid (a row per image: original, masked, completions; class names in the title) and
// the completions as .npy; with --classify, the evaluation classifier's label of every completion
// and the rate at which it matches the original's class.
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { UsageError } from './args.js';
import { loadImageRun } from '../train/image.js';
import { inpaint, inpaintPlan, makeMask, parseMaskSpec, HALVES, REPAINT_SAMPLERS, type InpaintOptions } from '../score/inpaint/index.js';
import { IMAGE_SAMPLERS } from '../score/sampling/index.js';
import { sdeOf } from '../score/sde/index.js';
import { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/idx.js';
import { toRange } from '../data/images.js';
import { readPngGrey } from '../io/png_decode.js';
import { FileError } from '../gpu/errors.js';
import { imageGrid } from '../io/render_node.js';
import { writeFileAtomic, writeNpy } from '../io/fs.js';
import { Progress } from '../io/progress.js';
import { IMAGE_SAMPLE_OPTS, samplerOptions } from './images.js';
import { loadOrTrainClassifier } from '../eval/fmnist_classifier.js';
import { classifierOutputs, argmaxRows } from '../eval/image_quality.js';
import { toClassifierRange, checkClassifierShape } from '../eval/image_eval.js';

const classList = FASHION_MNIST_CLASSES.map((c, i) => `${i} ${c}`).join(', ');

export const INPAINT_OPTS: OptSpec = {
  run: { type: 'string', help: 'image run directory or model folder (e.g. models/fmnist-ddpm-small)' },
  image: { type: 'string', help: `test:I[,J,…] — Fashion-MNIST test images by index (classes: ${classList}) — or a grey PNG of the model's size`, default: 'test:0' },
  mask: { type: 'string', help: 'box (centred, --box-size of each side hidden) | half (--side hidden) | random (--fraction of pixels hidden) | FILE.png of the model\'s size, white = known, black = filled in (--mask-invert swaps)', default: 'box' },
  'box-size': { type: 'number', help: 'box mask: fraction of each side hidden', default: 0.5 },
  side: { type: 'string', help: `half mask: the half hidden (${HALVES.join(', ')})`, default: 'bottom' },
  fraction: { type: 'number', help: 'random mask: fraction of pixels hidden', default: 0.5 },
  'mask-seed': { type: 'number', help: 'random mask: seed', default: 0 },
  'mask-invert': { type: 'boolean', help: 'mask PNG: black = known, white = filled in' },
  n: { type: 'number', help: 'completions per image', default: 8 },
  sampler: { type: 'string', help: `${Object.keys(IMAGE_SAMPLERS).filter((s) => s !== 'heun').join(' | ')} (default: ddim, annealed for ncsn)` },
  steps: { type: 'number', help: 'ddim, dpmpp2m: steps; em, pc: N; annealed: steps per level' },
  resample: { type: 'number', help: `RePaint: resamples r per jump point (1: none; ${REPAINT_SAMPLERS.join(' and ')} only)`, default: 1 },
  jump: { type: 'number', help: 'RePaint: jump length j (steps of the chain)', default: 10 },
  seed: { type: 'number', help: 'sampler seed', default: 0 },
  weights: { type: 'string', help: 'ema | params', default: 'ema' },
  classify: { type: 'boolean', help: 'label each completion with the evaluation classifier and report how often it is the original\'s class' },
  out: { type: 'string', help: 'grid PNG (the completions go beside it as .npy)', default: 'inpaint.png' },
  ...IMAGE_SAMPLE_OPTS,
};

interface Source {
  images: Float32Array; // [count, ...shape] in [0, 1]
  labels: (number | null)[];
  names: string[];
}

/** --image test:I,J,… or FILE.png → images in [0, 1] of the model's shape. */
function loadImages(spec: string, shape: readonly number[]): Source {
  const [c, h, w] = shape;
  const per = c * h * w;
  if (spec.startsWith('test:')) {
    const idx = spec.slice(5).split(',').map((s) => Number(s.trim()));
    const test = loadFashionMnist(undefined, 'test');
    if (test.h !== h || test.w !== w || c !== 1) throw new Error(`--image ${spec}: Fashion-MNIST images are 1×${test.h}×${test.w}, the model's are ${shape.join('×')}`);
    for (const i of idx) if (!(Number.isInteger(i) && i >= 0 && i < test.n)) throw new UsageError(`inpaint: --image test:INDEX needs indices in 0..${test.n - 1}, got '${spec.slice(5)}'`);
    const images = new Float32Array(idx.length * per);
    idx.forEach((i, k) => images.set(toRange(test.images.subarray(i * per, (i + 1) * per), '[0,1]'), k * per));
    return { images, labels: idx.map((i) => test.labels[i]), names: idx.map((i) => `test ${i}: ${FASHION_MNIST_CLASSES[test.labels[i]]}`) };
  }
  if (!/\.png$/i.test(spec)) throw new UsageError(`inpaint: --image takes test:INDEX or a .png file, got '${spec}'`);
  if (c !== 1) throw new FileError(spec, `a grey PNG cannot feed a ${c}-channel model`);
  const g = readPngGrey(spec);
  if (g.width !== w || g.height !== h) throw new FileError(spec, `image is ${g.width}×${g.height}, the model's images are ${w}×${h}`);
  return { images: g.data, labels: [null], names: [spec.replace(/^.*\//, '')] };
}

export async function inpaintCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (!a.run) throw new UsageError('inpaint: --run DIR is required (an image run or a model folder such as models/fmnist-ddpm-small)');
  if (!(Number.isInteger(a.n) && a.n >= 1)) throw new UsageError(`inpaint: --n must be a positive integer, got ${a.n}`);
  if (a.weights !== 'ema' && a.weights !== 'params') throw new UsageError(`inpaint: --weights must be 'ema' or 'params', got '${a.weights}'`);
  const run = loadImageRun(device, a.run, a.weights);
  const { cfg, process } = run;
  const [c, h, w] = cfg.shape;
  const src = loadImages(a.image, cfg.shape);
  const plane = makeMask(parseMaskSpec(a.mask, { side: a.side, fraction: a.fraction, size: a['box-size'], seed: a['mask-seed'], invert: a['mask-invert'] }), h, w);
  const mask = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) mask.set(plane, k * h * w);
  const sampler: string = a.sampler ?? (!sdeOf(process) && process.prediction === 'score' ? 'annealed' : 'ddim');
  const count = src.labels.length, per = c * h * w;
  const o: InpaintOptions = {
    ...samplerOptions(sampler, count * a.n, a),
    images: toRange(src.images, process.dataRange), mask, perImage: a.n,
    repaint: a.resample > 1 ? { resample: a.resample, jump: a.jump } : undefined,
  };
  const plan = inpaintPlan(process, o); // validates before the long part
  const batches = Math.ceil((count * a.n) / Math.min(count * a.n, a.batch ?? 64));
  const bar = new Progress({ total: plan.steps.length * batches, label: `inpaint ${plan.name}, ${count}×${a.n}` });
  let last = 0;
  const r = await inpaint(device, run.net, process, cfg.shape, { ...o, onProgress: (d) => { bar.tick(d - last); last = d; } });
  bar.done();
  const out: string = a.out;
  const npy = out.replace(/\.png$/i, '') + '.npy';
  writeNpy(npy, r.samples, [count * a.n, ...cfg.shape]);
  // the completions in [0, 1] for the grid and the classifier
  const done01 = Float32Array.from(r.samples, (v) => Math.min(1, Math.max(0, process.dataRange === '[-1,1]' ? (v + 1) / 2 : v)));
  let labelsNote = '', predicted: Int32Array | null = null;
  let scores: { agreement: number; originals: number; maskedBlack: number } | null = null;
  if (a.classify) {
    const clf = await loadOrTrainClassifier(device, { log: (l) => console.error(l) });
    checkClassifierShape(cfg.shape, clf.config.imageSize);
    const labelsOf = async (x01: Float32Array) => {
      const out = await classifierOutputs(device, clf.model, toClassifierRange(x01, '[0,1]'));
      return argmaxRows(out.logits, out.classes);
    };
    predicted = await labelsOf(done01);
    // beside it: the classifier on the originals, and on the masked images with the hidden pixels black
    const black = Float32Array.from(src.images, (v, i) => (mask[i % per] >= 0.5 ? v : 0));
    const [onOrig, onBlack] = [await labelsOf(src.images), await labelsOf(black)];
    const rate = (pred: Int32Array, rowsPer: number) => {
      let match = 0, known = 0;
      pred.forEach((p, i) => {
        const y = src.labels[Math.floor(i / rowsPer)];
        if (y !== null) { known++; if (p === y) match++; }
      });
      return { match, known };
    };
    const c = rate(predicted, a.n);
    if (c.known) {
      scores = { agreement: c.match / c.known, originals: rate(onOrig, 1).match / rate(onOrig, 1).known, maskedBlack: rate(onBlack, 1).match / rate(onBlack, 1).known };
      labelsNote = `; the classifier gives the original's class to ${c.match}/${c.known} completions (${(100 * scores.agreement).toFixed(0)} %; to the originals ${(100 * scores.originals).toFixed(0)} %, to the masked images with the hidden pixels black ${(100 * scores.maskedBlack).toFixed(0)} %)`;
    }
  }
  writeFileAtomic(out, inpaintGrid(src, done01, plane, cfg.shape, a.n, `${cfg.process.kind}, ${plan.name}, ${r.nfe} NFE, mask ${describeMask(a)} — each row: original, masked (blue = filled in), ${a.n} completions`, predicted));
  console.log(`${count * a.n} completions of ${count} image${count > 1 ? 's' : ''} in ${r.seconds.toFixed(1)} s (${r.nfe} network evaluations each)${labelsNote} → ${out}, ${npy}`);
  if (scores) console.log(JSON.stringify({ images: count, perImage: a.n, sampler: plan.name, nfe: r.nfe, mask: describeMask(a), seconds: +r.seconds.toFixed(1), ...scores }));
  return 0;
}

function describeMask(a: Record<string, any>): string {
  switch (a.mask) {
    case 'box': return `box ${a['box-size']}`;
    case 'half': return `half (${a.side} hidden)`;
    case 'random': return `random ${a.fraction}`;
    default: return `${String(a.mask).replace(/^.*\//, '')}${a['mask-invert'] ? ' (inverted)' : ''}`;
  }
}

/** One row per image: original, masked (filled-in pixels blue), completions; RGB in [0, 1]. */
function inpaintGrid(src: Source, done01: Float32Array, plane: Float32Array, shape: readonly number[], k: number, title: string, predicted: Int32Array | null): Uint8Array {
  const [, h, w] = shape;
  const hw = h * w, count = src.labels.length, cols = k + 2;
  const rgb = new Float32Array(count * cols * 3 * hw);
  const put = (cell: number, grey: (i: number) => number, tint = false) => {
    for (let i = 0; i < hw; i++) {
      const v = grey(i), hide = tint && plane[i] < 0.5;
      rgb[(cell * 3 + 0) * hw + i] = hide ? 0.25 : v;
      rgb[(cell * 3 + 1) * hw + i] = hide ? 0.45 : v;
      rgb[(cell * 3 + 2) * hw + i] = hide ? 0.85 : v;
    }
  };
  const per = shape.reduce((x, y) => x * y, 1);
  for (let r = 0; r < count; r++) {
    const orig = (i: number) => src.images[r * per + i];
    put(r * cols, orig);
    put(r * cols + 1, orig, true);
    for (let j = 0; j < k; j++) put(r * cols + 2 + j, (i) => done01[(r * k + j) * per + i]);
  }
  const rows = src.names.map((n, r) => {
    if (!predicted) return n;
    const labels = Array.from(predicted.subarray(r * k, (r + 1) * k), (p) => FASHION_MNIST_CLASSES[p]);
    return `${n} → ${labels.join(', ')}`;
  });
  return imageGrid(rgb, [count * cols, 3, h, w], cols, { range: '[0,1]', scale: 3, title: `${title}. Rows: ${rows.join('; ')}` });
}
