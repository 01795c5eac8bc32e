// Drawing n images from a noise-conditional network in batches: the sampler's plan (with the
// defaults that depend on the process), one recorded chain per batch.
import type { Device } from '../../gpu/device.js';
import type { NoiseConditionalNet } from '../losses.js';
import type { DiscreteProcess } from '../processes/process.js';
import { NcsnProcess } from '../processes/ncsn.js';
import { makePlan, type PlanOptions } from './index.js';
import { runPlan, type SampleResult, type Preview } from './plan.js';
import { ncsnv2StepSize } from './annealed.js';
import { adapt } from '../adapter.js';

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
      // x̂₀ at the step's noise index, by the model-output adapter (whatever the sampler's update uses)
      preview: o.preview && {
        every: o.preview.every,
        estimate: (s) => adapt(proc.prediction, proc.marginal(s.index ?? 0)).x0,
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

