// `scoregpu train-classifier`: a noise-conditional classifier for classifier guidance, trained on a
// diffusion run's data at that run's noise levels (src/train/classifier.ts), with a progress bar,
// atomic checkpoints, --resume, and the accuracy on noised test images at the end (accuracy.json).
import { join, basename } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { FileError } from '../gpu/errors.js';
import { loadImageRun, isImageRun } from '../train/image.js';
import { resolveImageConfig } from '../train/image_recipes.js';
import { loadImageSet } from '../data/images.js';
import { PROCESSES } from '../score/processes/index.js';
import { classifierConfig, trainClassifier, ACCURACY_FILE, type ClassifierRunConfig, type LevelAccuracy } from '../train/classifier.js';
import { RUN_FILES } from '../train/run_dir.js';
import { Progress } from '../io/progress.js';
import { imageConfigFromArgs } from './images.js';
import { testWriteOptions } from './write_hooks.js';
import { keptCheckpoint } from './run_messages.js';

export const CLASSIFIER_OPTS: OptSpec = {
  run: { type: 'string', help: 'the diffusion run (or model folder) whose data and noise process the classifier is for' },
  process: { type: 'string', help: `instead of --run: a process with its defaults (${Object.keys(PROCESSES).join(', ')}), on --data` },
  data: { type: 'string', help: 'with --process: fashion-mnist, idx:DIR, FILE.npy (labelled images)', default: 'fashion-mnist' },
  out: { type: 'string', help: 'classifier run directory (default runs/NAME-classifier for --run …/NAME, or runs/classifier-PROCESS)' },
  steps: { type: 'number', help: 'training steps', default: 2000 },
  batch: { type: 'number', help: 'batch size', default: 64 },
  seed: { type: 'number', help: 'random seed', default: 0 },
  pool: { type: 'string', help: "the head's input: 'flatten' (every position of the last map its own weights) or 'mean' (spatial mean)", default: 'mean' },
  resume: { type: 'boolean', help: 'continue from the run directory\'s checkpoint' },
  'checkpoint-every': { type: 'number', help: 'steps between checkpoints', default: 500 },
  'log-every': { type: 'number', help: 'steps between loss read-backs', default: 25 },
  'eval-images': { type: 'number', help: 'test images per noise level for the final accuracy (0: none)', default: 1000 },
};

/** The classifier config a command line asks for: from a diffusion run's config, or from --process on --data. */
function configFromArgs(a: Record<string, any>): ClassifierRunConfig {
  if (a.pool !== 'mean' && a.pool !== 'flatten') throw new Error(`--pool must be 'mean' or 'flatten', got '${a.pool}'`);
  const common = { steps: a.steps, batchSize: a.batch, seed: a.seed, net: { pool: a.pool as 'mean' | 'flatten' } };
  for (const k of ['steps', 'batch'] as const) if (!(Number.isInteger(a[k]) && a[k] > 0)) throw new Error(`--${k} must be a positive integer, got ${a[k]}`);
  if (a.run !== undefined && a.process !== undefined) throw new Error('give --run (a diffusion run) or --process, not both');
  if (a.run !== undefined) {
    if (!existsSync(a.run)) throw new FileError(a.run, 'no such run directory');
    if (!isImageRun(a.run)) throw new FileError(a.run, 'not an image diffusion run (its config.json is missing or not kind "image")');
    const cfg = readRunConfig(a.run);
    return classifierConfig({ ...common, data: cfg.data, shape: cfg.shape, process: cfg.process, diffusionRun: a.run });
  }
  if (a.process === undefined) throw new Error('--run DIR (the diffusion run to guide) or --process NAME is required');
  const img = imageConfigFromArgs({ ...a, data: a.data });
  const resolved = resolveImageConfig(img, loadImageSet(img.data, { seed: img.seed })); // NCSN's levels, VE's σ_max from the data
  return classifierConfig({ ...common, data: resolved.data, shape: resolved.shape, process: resolved.process });
}

function readRunConfig(dir: string): { data: string; shape: [number, number, number]; process: ClassifierRunConfig['process'] } {
  const p = join(dir, RUN_FILES.config);
  if (existsSync(p)) {
    let c: any;
    try {
      c = JSON.parse(readFileSync(p, 'utf8'));
    } catch {
      throw new FileError(p, 'not valid JSON');
    }
    if (c?.kind === 'image' && typeof c.data === 'string' && Array.isArray(c.shape) && c.process && typeof c.process === 'object') return c;
    throw new FileError(p, 'not an image run config (needs kind "image", data, shape, process)');
  }
  throw new FileError(dir, `no ${RUN_FILES.config}`);
}

/** One line of the accuracy per noise level: 'index 0 (σ 0.01): 91.2 %, …'. */
export function accuracyLine(levels: LevelAccuracy[]): string {
  return levels.map((l) => `i=${l.index} (σ ${l.sigma.toPrecision(2)}): ${(100 * l.accuracy).toFixed(1)} %`).join(', ');
}

export async function trainClassifierCommand(device: Device, a: Record<string, any>): Promise<number> {
  const cfg = configFromArgs(a);
  const out: string = a.out ?? (a.run ? `runs/${basename(a.run.replace(/\/+$/, ''))}-classifier` : `runs/classifier-${cfg.process.kind}`);
  if (a.run) loadImageRun(device, a.run).arena.dispose(); // the run must load (a broken checkpoint is said now, not at sampling)
  let bar: Progress | null = null, evalBar: Progress | null = null;
  let last = 0;
  const r = await trainClassifier(device, cfg, {
    out, resume: !!a.resume, checkpointEvery: a['checkpoint-every'], logEvery: a['log-every'], evalImages: a['eval-images'], write: testWriteOptions(),
    onStart: (t, c) => {
      console.error(`scoregpu: noise-conditional classifier (${t.arena.size.toLocaleString()} parameter slots) on ${c.data} [${c.shape.join('×')}] at the noise levels of ${c.diffusionRun ?? c.process.kind} (${c.process.kind}), batch ${c.batchSize}, ${c.steps} steps` + (t.step ? `, resuming at step ${t.step}` : ''));
      bar = new Progress({ total: c.steps, label: `train-classifier on ${c.data}` });
      last = t.step;
      if (t.step) bar.tick(t.step);
    },
    onLog: (step, loss, ips) => {
      bar?.tick(step - last, { loss: loss.toPrecision(4), 'img/s': ips.toFixed(1) });
      last = step;
    },
    onEvalLevel: (done, total) => {
      if (!evalBar) {
        (bar as Progress | null)?.done();
        evalBar = new Progress({ total, label: 'accuracy on noised test images (noise levels)' });
      }
      evalBar.tick(1);
      if (done === total) evalBar.done();
    },
  });
  (bar as Progress | null)?.done();
  console.log(`${r.trainer.step} steps, ${r.imgPerSec.toFixed(1)} img/s, ${r.trainer.dispatchesPerStep} dispatches and 1 submit per step; classifier run in ${out}`);
  if (r.accuracy) console.log(`test accuracy (EMA weights, ${r.accuracy[0].n} noised images a level; ${join(out, ACCURACY_FILE)}): ${accuracyLine(r.accuracy)}`);
  if (r.diverged) {
    console.error(`stopped: ${r.diverged.message}; ${keptCheckpoint(r.checkpointStep, out)}`);
    return 1;
  }
  return 0;
}
