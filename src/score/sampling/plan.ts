// A sampler is a plan: where the chain starts and, per step, the network's noise-level input and
// the coefficients of the one fused update (src/tensor/ops/affine_update.ts)
//   x̂₀ = p·x + q·out,  [clip x̂₀],  x ← a·x + b·x̂₀ + c·z.
// Each sampler file computes its plan in float64 from the process — the math lives there, readable
// and testable against a reference without a GPU — and `runPlan` executes any plan on the device:
// one step (network forward + update) recorded once and replayed, the host writing only the step's
// coefficients, its noise-level column and the RNG clock before each replay; nothing is read back
// until the end (and at the snapshots asked for).
import type { Device } from '../../gpu/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/engine.js';
import * as op from '../../autograd/ops.js';
import { rand, randn, createClock } from '../../tensor/ops/random.js';
import { affineUpdate, UpdateCoefficients, type UpdateCoef } from '../../tensor/ops/affine_update.js';
import type { NoiseConditionalNet } from '../losses.js';

export interface PlanStep {
  /** The network's noise-level input for this step (σ or t). */
  cond: number;
  coef: UpdateCoef;
  /** Noise index of the step (for progress and previews). */
  index?: number;
}

export interface SamplerPlan {
  /** Which sampler made the plan (for messages and records). */
  name: string;
  /** x_start ~ N(0, std²) or U(lo, hi), elementwise. */
  init: { kind: 'normal'; std: number } | { kind: 'uniform'; lo: number; hi: number };
  steps: PlanStep[];
  /** Clamp x̂₀ to [coef.lo, coef.hi] in every step (DDPM/DDIM's clip_sample). */
  clip: boolean;
}

export interface RunOptions {
  n: number;
  /** Per-sample shape, e.g. [1, 28, 28] (or [D] for vectors). */
  shape: readonly number[];
  seed?: number;
  /** Steps after which a copy of x is read back (1-based step counts). */
  snapshotAt?: number[];
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface SampleResult {
  samples: Float32Array;
  snapshots: { step: number; samples: Float32Array }[];
  /** Network evaluations per sample. */
  nfe: number;
  /** Recorded dispatches per step and queue submits per step (for notes). */
  dispatchesPerStep: number;
  seconds: number;
}

export async function runPlan(device: Device, net: NoiseConditionalNet, plan: SamplerPlan, o: RunOptions): Promise<SampleResult> {
  if (!(Number.isInteger(o.n) && o.n >= 1)) throw new Error(`${plan.name}: the number of samples must be a positive integer, got ${o.n}`);
  if (!plan.steps.length) throw new Error(`${plan.name}: the plan has no steps`);
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const shape = [o.n, ...o.shape];
  const init = plan.init;
  const x = noGrad(() =>
    init.kind === 'normal'
      ? op.scale(randn(device, shape, seed, { stream: 0 }), init.std)
      : op.affine(rand(device, shape, seed, { stream: 0 }), init.hi - init.lo, init.lo),
  ).keep();
  const cond = Tensor.fromArray(device, new Float32Array(o.n), [o.n, 1], 'noise level').keep();
  const coef = new UpdateCoefficients(device);
  const clock = createClock(device);
  const body = () =>
    device.scope(() =>
      noGrad(() => {
        const out = net.forward(x, cond);
        affineUpdate(x, out, coef, { seed, stream: 1, clock, clip: plan.clip });
      }),
    );
  let rec: ReturnType<Device['record']>['recording'] | null = null;
  const snaps: { step: number; samples: Float32Array }[] = [];
  const total = plan.steps.length;
  const every = o.progressEvery ?? 10;
  const condHost = new Float32Array(o.n);
  let lastCond = NaN;
  try {
    for (let k = 0; k < total; k++) {
      const s = plan.steps[k];
      coef.write(s.coef);
      if (s.cond !== lastCond) {
        cond.write(condHost.fill(s.cond));
        lastCond = s.cond;
      }
      clock.set(k + 1);
      if (k === 0) {
        body(); // eager: creates constants and compiles pipelines
        device.flush();
      } else {
        rec ??= device.record(body).recording;
        rec.replay();
      }
      if (o.snapshotAt?.includes(k + 1)) snaps.push({ step: k + 1, samples: await x.toArray() });
      if ((k + 1) % every === 0 || k + 1 === total) {
        await device.sync(); // bounds the queue and keeps the progress honest; nothing is read
        o.onProgress?.(k + 1, total);
      }
    }
    const samples = await x.toArray();
    return { samples, snapshots: snaps, nfe: total, dispatchesPerStep: rec?.dispatchCount ?? 0, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rec?.dispose();
    x.dispose();
    cond.dispose();
    coef.dispose();
    clock.dispose();
  }
}

/** The data range of a process's images, as clip bounds for x̂₀. */
export function dataBounds(proc: { dataRange: '[0,1]' | '[-1,1]' }): [number, number] {
  return proc.dataRange === '[0,1]' ? [0, 1] : [-1, 1];
}
