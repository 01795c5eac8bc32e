// `sample --class K --guidance S --classifier DIR`: classifier guidance of an image run by a
// noise-conditional classifier run (scoregpu train-classifier), checked against the run it guides.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import type { LoadedImageRun } from '../train/image.js';
import type { NoiseConditionalNet } from '../score/losses.js';
import { loadClassifierRun } from '../train/classifier.js';
import { classifierGuided } from '../score/guidance/classifier.js';
import { classIndex, FASHION_MNIST_CLASSES } from '../data/idx.js';

/** The guidance scale `--class K --classifier DIR` uses without `--guidance`. */
export const DEFAULT_GUIDANCE_SCALE = 10;

export const CLASSIFIER_GUIDANCE_OPTS: OptSpec = {
  guidance: { type: 'number', help: `images: classifier guidance scale s — the score ∇ log p(x) + s·∇ log p_φ(y | x_t) (default ${DEFAULT_GUIDANCE_SCALE} with --class and --classifier)` },
  classifier: { type: 'string', help: 'images: a noise-conditional classifier run (scoregpu train-classifier --run RUN) guiding unconditional runs to --class (default RUN-classifier beside the run when it exists, e.g. models/fmnist-ddpm-small-classifier)' },
};

/**
 * The classifier `--class K` on an unconditional run uses without --classifier: the folder named
 * RUN-classifier beside the run — where train-classifier --run runs/NAME writes, and where a shipped
 * model's classifier lives (models/NAME-classifier).
 */
export function defaultClassifierDir(run: string): string {
  const r = run.replace(/[\\/]+$/, '');
  return join(dirname(r), `${basename(r)}-classifier`);
}

/** Class names of a data set with K classes: Fashion-MNIST's, else the numbers. */
export function classNames(data: string, K: number): readonly string[] {
  return data.startsWith('fashion-mnist') && K === FASHION_MNIST_CLASSES.length ? FASHION_MNIST_CLASSES : Array.from({ length: K }, (_, i) => String(i));
}

/**
 * The run's network (or `inner`, e.g. a classifier-free guided one) guided by the classifier at
 * --classifier towards --class with scale --guidance, and a caption naming both; null when no
 * classifier is asked for. One-line errors for flags that do not go together.
 */
export function classifierGuidance(device: Device, run: LoadedImageRun, a: Record<string, any>, inner?: { net: NoiseConditionalNet; caption: string } | null): { net: NoiseConditionalNet; caption: string } | null {
  const conditional = (run.cfg as { classes?: number }).classes ? true : false;
  const auto = a.classifier === undefined && a.class !== undefined && !conditional ? defaultClassifierDir(a.run) : undefined;
  const dir: string | undefined = a.classifier ?? (auto !== undefined && existsSync(auto) ? auto : undefined);
  if (dir === undefined) {
    if (a.guidance !== undefined) throw new Error(`--guidance needs --classifier DIR (a noise-conditional classifier: scoregpu train-classifier --run RUN${auto ? `; none at ${auto}` : ''}) and --class K`);
    if (a.class !== undefined && !conditional) throw new Error(`--class on an unconditional run needs --classifier DIR for classifier guidance (none at ${auto}; train one: scoregpu train-classifier --run ${a.run} --out ${auto})`);
    return null;
  }
  if (a.class === undefined) throw new Error('--classifier needs --class K (the class to draw)');
  const scale: number = a.guidance ?? DEFAULT_GUIDANCE_SCALE;
  if (!Number.isFinite(scale)) throw new Error(`--guidance must be a finite number, got ${a.guidance}`);
  const clf = loadClassifierRun(device, dir);
  if (a.classifier === undefined) console.error(`scoregpu: classifier guidance by ${dir} (the classifier beside the run; --classifier DIR for another)`);
  const same = (p: unknown, q: unknown) => JSON.stringify(p) === JSON.stringify(q);
  if (!same(clf.cfg.process, run.cfg.process)) {
    throw new Error(`--classifier ${dir} was trained for the noise process ${JSON.stringify(clf.cfg.process)}, ${a.run} uses ${JSON.stringify(run.cfg.process)} (train one for this run: scoregpu train-classifier --run ${a.run})`);
  }
  if (!same(clf.cfg.shape, run.cfg.shape)) throw new Error(`--classifier ${dir} takes images [${clf.cfg.shape.join(', ')}], ${a.run} makes [${run.cfg.shape.join(', ')}]`);
  const names = classNames(clf.cfg.data, clf.cfg.net.classes);
  const y = classIndex(a.class, names);
  const net = classifierGuided(inner?.net ?? run.net, clf.net, run.process, { label: y, scale });
  return { net, caption: `${inner ? inner.caption : `, class ${y} (${names[y]})`}, classifier guidance s = ${scale}` };
}
