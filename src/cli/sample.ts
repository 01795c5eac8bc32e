import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { loadToyRun } from '../train/toy_run.js';
import { sampleToyModel, checkFiniteSamples } from '../train/toy_recipes.js';
import { fitAdvice } from '../train/toy_fit.js';
import { writeNpy } from '../io/fs.js';
import { Progress } from '../io/progress.js';
import { loadDataset } from '../data/dataset.js';
import { writeSamplesPng, writeScoreFieldPng, writeDensityPng, runPaths } from './pictures.js';
import { isImageRun } from '../train/image.js';
import { IMAGE_SAMPLE_OPTS, SAMPLER_HELP, sampleImageCommand } from './images.js';
import { DEFAULT_SAMPLERS } from '../score/sampling/draw.js';

export const SAMPLE_OPTS: OptSpec = {
  run: { type: 'string', help: 'run directory', default: 'runs/toy' },
  sampler: { type: 'string', help: `toy: langevin | annealed (default: the run's); images: ${SAMPLER_HELP} (default per process — ${Object.entries(DEFAULT_SAMPLERS).map(([k, v]) => `${k}: ${v.help}`).join('; ')})` },
  n: { type: 'number', help: 'number of samples', default: 2000 },
  steps: { type: 'number', help: 'toy: Langevin steps (per level for annealed); images: ddim and dpmpp2m steps (evaluations; dpmpp2m drops an index its spacing repeats near the grid size), em/pc time steps N, heun σ levels n (2n − 1 evaluations), annealed steps per level, ode fixed steps' },
  'step-size': { type: 'number', help: 'Langevin step α (ε for annealed), data units² (default: the run\'s)' },
  'step-size-end': { type: 'number', help: 'plain Langevin: decay α geometrically to this' },
  denoise: { type: 'boolean', help: 'final denoising step: Tweedie for dsm, deen and annealed; for em and pc the last update without its noise, for ode one more noise-free reverse-diffusion step at t = 1e-3 (score_sde\'s noise_removal)', default: true },
  seed: { type: 'number', help: 'sampler seed' },
  init: { type: 'string', help: 'initial points: uniform on μ ± s | normal N(μ, s²I), μ the data mean (runs made before the fit: μ = 0) | mixture: in the data\'s separated groups by their shares (single-σ runs whose fit found groups) (default: the run\'s)' },
  'init-scale': { type: 'number', help: 'the s of --init, data units (default: the run\'s)' },
  weights: { type: 'string', help: 'ema | params', default: 'ema' },
  out: { type: 'string', help: 'output .npy (default RUN/samples.npy); a PNG is written beside it; images: grid.png or samples.npy (default RUN/samples_SAMPLER.png; for a model folder such as models/NAME, runs/eval/NAME/…)' },
  ...IMAGE_SAMPLE_OPTS,
};

/** Draws samples from a run; `write` false keeps them in memory only (no .npy, no pictures). */
export async function sampleRun(device: Device, a: Record<string, any>, quiet = false, write = true) {
  if (!(a.n > 0 && Number.isInteger(a.n))) throw new Error(`--n must be a positive integer, got ${a.n}`);
  if (a.weights !== 'ema' && a.weights !== 'params') throw new Error(`--weights must be 'ema' or 'params', got '${a.weights}'`);
  const run = loadToyRun(device, a.run, a.weights);
  const { cfg, model } = run;
  const paths = runPaths(a.run);
  const out: string = a.out ?? paths.samplesNpy;
  const sampler = a.sampler ?? cfg.sampler;
  const total = sampler === 'annealed' ? cfg.levels * (a.steps ?? cfg.sampleSteps) : a.steps ?? (cfg.loss === 'ncsn' ? 1000 : cfg.sampleSteps);
  const bar = quiet ? null : new Progress({ total, label: `sample (${sampler}, n=${a.n})` });
  let last = 0;
  const t0 = performance.now();
  const res = await sampleToyModel(device, cfg, model, {
    n: a.n, sampler: a.sampler, steps: a.steps, stepSize: a['step-size'], stepSizeEnd: a['step-size-end'], seed: a.seed, denoise: a.denoise, init: a.init, initScale: a['init-scale'],
    onProgress: (done) => {
      bar?.tick(done - last);
      last = done;
    },
  });
  bar?.done();
  checkFiniteSamples(res.samples, cfg.dim, `run ${a.run}`);
  const secs = (performance.now() - t0) / 1000;
  const data = loadDataset(cfg.data, { seed: cfg.seed, nTrain: 2000 });
  if (write) writeNpy(out, res.samples, [a.n, cfg.dim]);
  if (write && cfg.dim === 2) {
    await writeSamplesPng(out.replace(/\.npy$/, '') + '.png', res.samples, data.held, `${a.sampler ?? cfg.sampler} samples: ${cfg.loss} on ${cfg.data}`);
    await writeScoreFieldPng(device, paths.scorePng, cfg, model, data.held);
    await writeDensityPng(device, paths.densityPng, cfg, model, data.held);
  }
  return { samples: res.samples, cfg, data, out, secs };
}

export async function sampleCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (isImageRun(a.run)) return sampleImageCommand(device, a);
  const r = await sampleRun(device, a);
  console.log(`${a.n} samples in ${r.secs.toFixed(1)} s → ${r.out}`);
  const advice = fitAdvice(r.cfg);
  if (advice) console.log(advice);
  return 0;
}
