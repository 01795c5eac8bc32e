// Toy-model recipes: the config a run is made from, the model and loss it implies, and sampling
// with the sampler that suits the objective. The CLI, the tests and the browser page share these
// (no Node built-ins here: the browser bundle takes this file). Running and resuming a toy run in
// a directory is toy_run.ts.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { ScoreMLP, EnergyMLP, defaultMlpConfig, type ToyModel } from '../nn/mlp.js';
import { materialize, type ParamArena } from '../nn/module.js';
import { LOSSES, type LossName, esmLoss, dsmLoss, ssmLoss, deenLoss, ncsnLoss, type Noise } from '../score/losses.js';
import { geometricSigmas } from '../score/sigmas.js';
import { SAMPLERS, type SamplerName, langevin, annealedLangevin, type ChainResult } from '../score/samplers.js';
import { defaultAdam, LR_SCHEDULES } from './optimizer.js';
import { copyInto } from '../tensor/ops/layout.js';
import type { LossFn, TrainerConfig } from './trainer.js';
import { checkChoice } from './choice.js';
import { toDataUnits } from './toy_fit.js';
import type { ToyConfig } from './toy_config.js';
import { NonFiniteError } from '../gpu/errors.js';

export const INITS = ['uniform', 'normal', 'mixture'] as const;

/**
 * What differs by data set in an unfitted config (trainToy without `fit`; the CLI always fits, and
 * toy_fit.ts then smooths every set by 0.1 of its scale). The checkerboard's density is
 * discontinuous at the square edges, where its score is undefined: the single-σ objectives learn the
 * score of the data smoothed by σ = 0.2 (DSM/DEEN by their own σ, ESM/SSM by perturbing the data),
 * which also lets Langevin chains cross between squares; the final Tweedie step removes most of the blur.
 */
const DATA_RECIPES: Record<string, Partial<ToyConfig>> = {
  checkerboard: { sigma: 0.2, dataNoise: 0.2 },
};

/** Defaults per objective and data set, tuned on the toy sets (see README's table). */
export function toyConfig(over: Partial<ToyConfig> & { loss?: LossName } = {}): ToyConfig {
  const loss = checkChoice('loss', over.loss ?? 'dsm', LOSSES);
  const model = over.model ?? (loss === 'deen' ? 'energy' : 'mlp');
  if (loss === 'deen' && model !== 'energy') throw new Error(`loss 'deen' trains an energy model: use --model energy`);
  const ncsn = loss === 'ncsn';
  // DSM and DEEN regress onto z/σ, a target whose variance (∝ 1/σ²) dwarfs the score itself: they
  // train longer and decay the learning rate so that the last weights are precise.
  // NCSN's (λ = σ²: σ·s onto −z) is as noisy where σ is small, and its mode weights come from how
  // precisely the middle levels are learned: it decays the rate too (issue 15, item 4: README).
  const noisyTarget = loss === 'dsm' || loss === 'deen' || loss === 'ncsn';
  const base: ToyConfig = {
    data: 'swissroll', dim: 2, model, loss,
    hidden: [128, 128, 128], act: model === 'energy' ? 'softplus' : 'silu',
    // NCSN: 6000 steps. At 3000 its samples at the bottom levels were blurred (the raised annealed ε lets
    // chains sample the model's density there, and a 3000-step model's is too broad): energy distance
    // 5.6× the floor on unequal4, 6.9× on swiss roll ×100; 0.67× and 1.9× at 6000 (README, "Your own data")
    steps: loss === 'dsm' ? 10000 : loss === 'deen' || loss === 'ncsn' ? 6000 : 3000, batchSize: 512, seed: 0,
    optim: defaultAdam({ lr: 1e-3, warmup: 100, clipNorm: 10, ...(noisyTarget ? { schedule: 'cosine', lrEndFactor: 0.01 } : {}) }),
    emaDecay: 0.99,
    sigma: 0.1, dataNoise: 0, sigmaMax: 3, sigmaMin: 0.05, levels: 10,
    // DEEN: each row with z and −z. Its energy network learns from the loss's noise far more slowly
    // than DSM's score network: plainly trained it had learnt 4 of 8gaussians' 8 modes at 12000 steps
    // (the others smeared into arcs; energy distance 5–7× the floor); with the pairs, all 8 at 6000
    // (1.1×; README, "Your own data")
    antithetic: loss === 'deen',
    sampler: ncsn ? 'annealed' : 'langevin',
    sampleSteps: ncsn ? 100 : 2000,
    stepSize: ncsn ? 1e-4 : 0.1,
    stepSizeEnd: 1e-4,
    initScale: 3,
  };
  const cfg = { ...base, ...DATA_RECIPES[over.data ?? base.data], ...over, loss, model };
  // the cosine schedule ends with the run unless told otherwise
  if (cfg.optim.schedule === 'cosine' && !over.optim?.decaySteps) cfg.optim = { ...cfg.optim, decaySteps: cfg.steps };
  checkChoice('lr schedule', cfg.optim.schedule ?? 'constant', LR_SCHEDULES);
  cfg.sampler = checkChoice('sampler', cfg.sampler, SAMPLERS);
  return cfg;
}

/** The config's network with its initial weights, on the CPU (buildToyModel puts it on a device). */
export function toyModel(cfg: ToyConfig): ToyModel {
  const mcfg = defaultMlpConfig(cfg.dim, { hidden: cfg.hidden, act: cfg.act, seed: cfg.seed, noiseConditional: cfg.loss === 'ncsn' });
  return cfg.model === 'energy' ? new EnergyMLP(mcfg) : new ScoreMLP(mcfg);
}

export function buildToyModel(device: Device, cfg: ToyConfig): { model: ToyModel; arena: ParamArena } {
  const model = toyModel(cfg);
  const arena = materialize(device, model);
  return { model, arena };
}

export function sigmasOf(cfg: ToyConfig): Float32Array {
  return geometricSigmas(cfg.sigmaMax, cfg.sigmaMin, cfg.levels);
}

export function toyLoss(device: Device, cfg: ToyConfig, model: ToyModel): LossFn {
  const sigmas = Tensor.fromArray(device, sigmasOf(cfg), [cfg.levels, 1], 'sigmas').keep();
  switch (cfg.loss) {
    case 'esm':
      return (x: Tensor, n: Noise) => esmLoss(model, x, { sigma: cfg.dataNoise, noise: n });
    case 'dsm':
      return (x: Tensor, n: Noise) => dsmLoss(model, x, cfg.sigma, n, { antithetic: cfg.antithetic });
    case 'ssm':
      return (x: Tensor, n: Noise) => ssmLoss(model, x, n, { sigma: cfg.dataNoise });
    case 'ssmvr':
      return (x: Tensor, n: Noise) => ssmLoss(model, x, n, { vr: true, sigma: cfg.dataNoise });
    case 'deen':
      return (x: Tensor, n: Noise) => deenLoss(model, x, cfg.sigma, n, { antithetic: cfg.antithetic });
    case 'ncsn':
      return (x: Tensor, n: Noise) => ncsnLoss(model, x, sigmas, n);
  }
}

export function trainerConfig(cfg: ToyConfig, logEvery = 50): TrainerConfig {
  return { batchSize: cfg.batchSize, seed: cfg.seed, optim: cfg.optim, emaDecay: cfg.emaDecay, logEvery };
}

export interface SampleRequest {
  n: number;
  sampler?: SamplerName;
  steps?: number;
  stepSize?: number;
  seed?: number;
  snapshotAt?: number[];
  onProgress?: (done: number, total: number) => void;
  /** Plain Langevin: final step size of the geometric decay (default: the run's, or constant when stepSize is given). */
  stepSizeEnd?: number;
  /** Final denoising step (default on for dsm/deen, and for annealed sampling). */
  denoise?: boolean;
  /** Initial points (default: the run's init and initScale). */
  init?: 'uniform' | 'normal';
  initScale?: number;
}

/**
 * Samples of a run in data units. The request's step sizes and initScale are in data units too;
 * the chain runs in the model's units (cfg.norm) and its samples and snapshots are mapped back.
 */
export async function sampleToyModel(device: Device, cfg: ToyConfig, model: ToyModel, req: SampleRequest): Promise<ChainResult> {
  const s = cfg.norm?.scale ?? 1;
  const inModel = { ...req };
  if (req.stepSize !== undefined) inModel.stepSize = req.stepSize / (s * s);
  if (req.stepSizeEnd !== undefined) inModel.stepSizeEnd = req.stepSizeEnd / (s * s);
  if (req.initScale !== undefined) inModel.initScale = req.initScale / s;
  const r = await sampleInModelUnits(device, cfg, model, inModel);
  toDataUnits(r.samples, cfg.norm);
  for (const snap of r.snapshots) toDataUnits(snap.samples, cfg.norm);
  return r;
}

function sampleInModelUnits(device: Device, cfg: ToyConfig, model: ToyModel, req: SampleRequest): Promise<ChainResult> {
  const sampler = checkChoice('sampler', req.sampler ?? cfg.sampler, SAMPLERS);
  const init = checkChoice('init', req.init ?? cfg.init ?? 'uniform', INITS);
  if (init === 'mixture' && !cfg.startMixture) throw new Error(`init 'mixture' starts chains in the data's separated groups, and this run's fit found none (use uniform or normal)`);
  const common = { n: req.n, shape: [cfg.dim], seed: req.seed ?? cfg.seed + 1, init, initScale: req.initScale ?? cfg.initScale, startMixture: cfg.startMixture, snapshotAt: req.snapshotAt, onProgress: req.onProgress };
  if (sampler === 'annealed') {
    if (cfg.loss !== 'ncsn') throw new Error(`sampler 'annealed' needs a noise-conditional model (loss ncsn); this run used '${cfg.loss}'`);
    return annealedLangevin(device, model, sigmasOf(cfg), { ...common, stepsPerLevel: req.steps ?? cfg.sampleSteps, eps: req.stepSize ?? cfg.stepSize, denoise: req.denoise !== false });
  }
  if (cfg.loss === 'ncsn') {
    // plain Langevin on a noise-conditional model: use the smallest level
    const sL = sigmasOf(cfg)[cfg.levels - 1];
    const sig = Tensor.constant(device, `sigma-col-${req.n}-${sL}`, new Float32Array(req.n).fill(sL), [req.n, 1]);
    const m = { score: (x: Tensor) => model.score(x, sig) };
    return langevin(device, m, req.steps ?? 1000, req.stepSize ?? 1e-3, common);
  }
  // DSM and DEEN (and ESM/SSM on smoothed data) learn the score of the σ-smoothed data: end with
  // Tweedie's denoising step x + σ²s(x)
  const smoothing = cfg.loss === 'dsm' || cfg.loss === 'deen' ? cfg.sigma : cfg.dataNoise ?? 0;
  const denoiseSigma = req.denoise === false || !(smoothing > 0) ? undefined : smoothing;
  const alpha = req.stepSize ?? cfg.stepSize;
  return langevin(device, model, req.steps ?? cfg.sampleSteps, alpha, { ...common, bounds: cfg.bounds, denoiseSigma, alphaEnd: req.stepSizeEnd ?? (req.stepSize !== undefined ? alpha : cfg.stepSizeEnd ?? alpha) });
}

/**
 * Samples must be numbers: a chain that diverged (NaN or ±Inf in any coordinate) is an error naming
 * `what` (the run) and how many samples, never a file.
 */
export function checkFiniteSamples(samples: Float32Array, dim: number, what: string): void {
  let bad = 0;
  for (let i = 0; i < samples.length; i += dim) {
    for (let k = 0; k < dim; k++) {
      if (!Number.isFinite(samples[i + k])) {
        bad++;
        break;
      }
    }
  }
  if (bad > 0) {
    throw new NonFiniteError(`${what}: ${bad} of ${samples.length / dim} samples are not finite (NaN or ±Inf): the chain diverged; nothing was written (try a smaller --step-size, or train longer)`);
  }
}

/** A second copy of the model holding the trainer's EMA weights (what sampling should use). */
export function emaModel(device: Device, cfg: ToyConfig, trainer: { ema: { shadow: Tensor } | null; arena: ParamArena }): ToyModel {
  const { model, arena } = buildToyModel(device, cfg);
  copyInto(arena.data, trainer.ema?.shadow ?? trainer.arena.data);
  return model;
}
