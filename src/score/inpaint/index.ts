// Inpainting: complete images of which a mask says which pixels are known, with any sampler whose
// plan names the level each step leaves x at — score_sde's projection after every step
// (./projection.ts), optionally with RePaint's resampling (./repaint.ts).
import type { Device } from '../../gpu/device.js';
import type { NoiseConditionalNet } from '../losses.js';
import type { DiscreteProcess } from '../processes/process.js';
import { makePlan, type PlanOptions } from '../sampling/index.js';
import { samplerDefaults } from '../sampling/draw.js';
import { runPlan, type SamplerPlan } from '../sampling/plan.js';
import { InpaintProjection, checkLevels } from './projection.js';
import { repaintPlan, type RepaintOptions } from './repaint.js';

export { InpaintProjection, checkLevels, PROJECTION_STREAM } from './projection.js';
export { repaintPlan, repaintPositions, forwardJump, REPAINT_SAMPLERS, type RepaintOptions } from './repaint.js';
export { makeMask, parseMaskSpec, HALVES, type MaskSpec, type Half } from './masks.js';

export interface InpaintOptions extends PlanOptions {
  sampler: string;
  /** The images, [count, ...shape], in the process's data range ([−1, 1] for DDPM, [0, 1] for NCSN). */
  images: Float32Array;
  /** 1 where a pixel is known, 0 where it is filled in: one [...shape] mask for all, or [count, ...shape]. */
  mask: Float32Array;
  /** Completions per image (default 1). */
  perImage?: number;
  /** RePaint's resampling (ancestral and ddim). */
  repaint?: RepaintOptions;
  seed?: number;
  /** Chains per batch (default 64). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface InpaintResult {
  /** [count·perImage, ...shape], image-major (image i's completions at rows i·perImage …), data range. */
  samples: Float32Array;
  plan: SamplerPlan;
  /** Network evaluations per completion. */
  nfe: number;
  seconds: number;
}

/** The plan inpainting runs: the sampler's (with the process's defaults), RePaint's jumps if asked. */
export function inpaintPlan(proc: DiscreteProcess, o: Pick<InpaintOptions, 'sampler' | 'repaint'> & PlanOptions): SamplerPlan {
  let plan = makePlan(o.sampler, proc, samplerDefaults(proc, o.sampler, o));
  checkLevels(plan);
  if (o.repaint && o.repaint.resample > 1) plan = repaintPlan(plan, proc, o.repaint);
  return plan;
}

export async function inpaint(device: Device, net: NoiseConditionalNet, proc: DiscreteProcess, shape: readonly number[], o: InpaintOptions): Promise<InpaintResult> {
  const per = shape.reduce((a, b) => a * b, 1);
  if (!(o.images.length > 0 && o.images.length % per === 0)) throw new Error(`inpaint: ${o.images.length} image values are not whole images of ${shape.join('×')}`);
  const count = o.images.length / per;
  if (o.mask.length !== per && o.mask.length !== count * per) throw new Error(`inpaint: the mask has ${o.mask.length} values; expected ${per} (one for all) or ${count * per} (one per image)`);
  const k = o.perImage ?? 1;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`inpaint: completions per image must be a positive integer, got ${k}`);
  const plan = inpaintPlan(proc, o);
  const n = count * k, B = Math.min(n, o.batch ?? 64);
  const y = new Float32Array(n * per), m = new Float32Array(n * per);
  for (let r = 0; r < n; r++) {
    const i = Math.floor(r / k);
    y.set(o.images.subarray(i * per, (i + 1) * per), r * per);
    m.set(o.mask.length === per ? o.mask : o.mask.subarray(i * per, (i + 1) * per), r * per);
  }
  const all = new Float32Array(n * per);
  const batches = Math.ceil(n / B);
  let done = 0, seconds = 0;
  for (let b = 0; b < batches; b++) {
    const nb = Math.min(B, n - done);
    const hook = new InpaintProjection(device, y.subarray(done * per, (done + nb) * per), m.subarray(done * per, (done + nb) * per), [nb, ...shape]);
    try {
      const r = await runPlan(device, net, plan, {
        n: nb, shape, seed: (o.seed ?? 0) * 1000 + b, hook, signal: o.signal,
        onProgress: (d, total) => o.onProgress?.(b * total + d, batches * total),
      });
      all.set(r.samples, done * per);
      seconds += r.seconds;
    } finally {
      hook.dispose();
    }
    done += nb;
  }
  return { samples: all, plan, nfe: plan.steps.filter((s) => !s.noise).length, seconds };
}
