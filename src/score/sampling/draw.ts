// Drawing n images from a noise-conditional network in batches: the sampler's plan (with the
// defaults that depend on the process), one recorded chain per batch.
import type { Device } from '../../gpu/device.js';
import type { NoiseConditionalNet } from '../losses.js';
import type { DiscreteProcess } from '../processes/process.js';
import { NcsnProcess } from '../processes/ncsn.js';
import { makePlan, type PlanOptions } from './index.js';
import { runPlan, type SampleResult, type Preview, type PlanStep } from './plan.js';
import type { Marginal } from '../processes/process.js';
import { ncsnv2StepSize } from './annealed.js';
import { adapt } from '../adapter.js';
import { sdeOf } from '../sde/index.js';

export interface SampleImagesOptions extends PlanOptions {
  sampler: string;
  n: number;
  seed?: number;
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  /** Watch each batch's chain: x and the model's x̂₀ every `every` steps (see RunOptions.preview). */
  preview?: { every: number; onPreview: (p: Preview & { batch: number }) => void | Promise<void> };
  /** Stops sampling between steps. */
  signal?: AbortSignal;
}

/**
 * The sampler used when none is named, per kind of model. For the score SDEs, score_sde's
 * (configs/ve/cifar10_ncsnpp_continuous.py: PC with the reverse-diffusion predictor and the Langevin
 * corrector; configs/vp|subvp/cifar10_ddpmpp_continuous.py: PC with the Euler–Maruyama predictor and
 * no corrector, which is `em`; default_cifar10_configs.py: snr 0.16, one corrector step, noise removal),
 * over the SDE's N = 1000 steps. NCSN: annealed Langevin (its paper's); DDPM: DDIM.
 */
export const DEFAULT_SAMPLERS = {
  ncsn: { sampler: 'annealed', help: 'annealed (NCSN Alg. 1)' },
  ddpm: { sampler: 'ddim', help: 'ddim' },
  ve: { sampler: 'pc', help: 'pc: reverse_diffusion + langevin, snr 0.16, one corrector step, N = 1000 (2000 NFE; score_sde\'s VE default)' },
  vp: { sampler: 'em', help: 'em: Euler–Maruyama, N = 1000, no corrector (score_sde\'s VP default)' },
  subvp: { sampler: 'em', help: 'em, as vp (score_sde\'s sub-VP default)' },
} as const;

/** The default sampler of a model's process (DEFAULT_SAMPLERS). */
export function defaultSampler(proc: DiscreteProcess): string {
  const sde = sdeOf(proc);
  if (sde) return DEFAULT_SAMPLERS[sde.name].sampler;
  return proc instanceof NcsnProcess ? DEFAULT_SAMPLERS.ncsn.sampler : DEFAULT_SAMPLERS.ddpm.sampler;
}

/** Sampler defaults that depend on the process: annealed Langevin's ε by NCSNv2's rule, clipping for DDPM. */
export function samplerDefaults(proc: DiscreteProcess, sampler: string, o: PlanOptions): PlanOptions {
  const out: PlanOptions = { ...o };
  if (sampler === 'annealed' && o.eps === undefined && proc instanceof NcsnProcess) {
    const T = o.stepsPerLevel ?? 5;
    const gamma = proc.N > 1 ? proc.sigmas[1] / proc.sigmas[0] : 1.1;
    out.eps = ncsnv2StepSize(gamma, proc.sigmas[0], T);
  }
  if (out.clip === undefined) out.clip = proc.dataRange === '[-1,1]';
  return out;
}

/** The marginal of the x a step's network call reads: the step's own (PC, EM, Heun) or its noise index's. */
export function inputLevel(proc: DiscreteProcess, sampler: string, s: PlanStep): Marginal {
  if (s.input) return s.input;
  if (s.index !== undefined) return proc.marginal(s.index);
  throw new Error(`${sampler}: a step names neither its noise index nor its input level (no x̂₀ preview)`);
}

/** Draw n images in batches of at most `batch` (one recorded chain per batch). */
export async function sampleImages(device: Device, net: NoiseConditionalNet, proc: DiscreteProcess, shape: readonly number[], o: SampleImagesOptions): Promise<SampleResult> {
  const plan = makePlan(o.sampler, proc, samplerDefaults(proc, o.sampler, o));
  const B = Math.min(o.n, o.batch ?? 64);
  const per = shape.reduce((a, b) => a * b, 1);
  const all = new Float32Array(o.n * per);
  let done = 0, seconds = 0, dispatches = 0;
  const batches = Math.ceil(o.n / B);
  for (let k = 0; k < batches; k++) {
    const n = Math.min(B, o.n - done);
    const r = await runPlan(device, net, plan, {
      n, shape, seed: (o.seed ?? 0) * 1000 + k,
      onProgress: (d, total) => o.onProgress?.(k * total + d, batches * total),
      signal: o.signal,
      // x̂₀ at the level the step's network call reads, by the model-output adapter (whatever the sampler's update uses)
      preview: o.preview && {
        every: o.preview.every,
        estimate: (s) => adapt(proc.prediction, inputLevel(proc, plan.name, s)).x0,
        onPreview: (p) => o.preview!.onPreview({ ...p, batch: k }),
      },
    });
    all.set(r.samples, done * per);
    done += n;
    seconds += r.seconds;
    dispatches = r.dispatchesPerStep;
  }
  return { samples: all, snapshots: [], nfe: plan.steps.length, dispatchesPerStep: dispatches, seconds };
}

