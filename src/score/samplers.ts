// Langevin samplers. Every step runs on the GPU: the score network, then the fused update
//   x ← x + (α/2)·s_θ(x) + √α·z,   z ~ N(0, I) drawn inside the kernel (Philox, keyed per step),
// with no read-back inside the chain; the final samples (and any snapshots asked for) come back.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import * as op from '../autograd/ops.js';
import { rand, randn } from '../tensor/ops/random.js';
import { langevinUpdate } from '../tensor/ops/langevin.js';
import { annealedStepSize } from './sigmas.js';
import type { ScoreModel } from './losses.js';

export const SAMPLERS = ['langevin', 'annealed'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface ChainOptions {
  n: number;
  dim: number;
  seed?: number;
  /** Initial points: uniform on [−initScale, initScale]^D (NCSN's choice) or N(0, initScale²I). */
  init?: 'uniform' | 'normal';
  initScale?: number;
  /** Steps after which a copy of x is kept (read back at the end). */
  snapshotAt?: number[];
  /** Called every `progressEvery` steps with the step count (no read-back involved). */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface ChainResult {
  samples: Float32Array;
  snapshots: { step: number; samples: Float32Array }[];
}

function initial(device: Device, o: ChainOptions, seed: number): Tensor {
  const r = o.initScale ?? 1;
  if ((o.init ?? 'uniform') === 'normal') return noGrad(() => op.scale(randn(device, [o.n, o.dim], seed), r));
  return noGrad(() => op.affine(rand(device, [o.n, o.dim], seed), 2 * r, -r));
}

async function finish(x: Tensor, snaps: { step: number; t: Tensor }[]): Promise<ChainResult> {
  const samples = await x.toArray();
  const snapshots = [];
  for (const s of snaps) {
    snapshots.push({ step: s.step, samples: await s.t.toArray() });
    s.t.dispose();
  }
  x.dispose();
  return { samples, snapshots };
}

/**
 * Langevin dynamics with a fixed step α (Welling & Teh 2011; Song & Ermon 2019 §2.2):
 *   x_{t+1} = x_t + (α/2)·s_θ(x_t) + √α·z_t.
 */
export async function langevin(device: Device, model: ScoreModel, steps: number, alpha: number, o: ChainOptions): Promise<ChainResult> {
  const seed = o.seed ?? 0;
  const x = initial(device, o, seed).keep();
  const snaps: { step: number; t: Tensor }[] = [];
  const every = o.progressEvery ?? 50;
  for (let t = 1; t <= steps; t++) {
    device.scope(() => noGrad(() => langevinUpdate(x, model.score(x), alpha, seed, { stream: t })));
    if (o.snapshotAt?.includes(t)) snaps.push({ step: t, t: noGrad(() => op.scale(x, 1)).keep() });
    if (t % every === 0) {
      await device.sync(); // bounds queued work and keeps the progress honest; nothing is read back
      o.onProgress?.(t, steps);
    }
  }
  return finish(x, snaps);
}

export interface AnnealedOptions extends ChainOptions {
  /** Steps per noise level (T in Algorithm 1). */
  stepsPerLevel: number;
  /** Base step ε; level i uses αᵢ = ε·σᵢ²/σ_L². */
  eps: number;
  /** Finish with one denoising step x ← x + σ_L²·s(x, σ_L) (Tweedie; as in NCSNv2). */
  denoise?: boolean;
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for σ₁ > … > σ_L, run T steps of
 * Langevin at each level with αᵢ = ε·σᵢ²/σ_L², starting each level where the last one ended.
 */
export async function annealedLangevin(device: Device, model: ScoreModel, sigmas: ArrayLike<number>, o: AnnealedOptions): Promise<ChainResult> {
  const seed = o.seed ?? 0;
  const L = sigmas.length;
  const sigmaL = sigmas[L - 1];
  const x = initial(device, o, seed).keep();
  const snaps: { step: number; t: Tensor }[] = [];
  const total = L * o.stepsPerLevel;
  const every = o.progressEvery ?? 50;
  let k = 0;
  for (let i = 0; i < L; i++) {
    const alpha = annealedStepSize(o.eps, sigmas[i], sigmaL);
    const sig = Tensor.constant(device, `sigma-col-${o.n}-${sigmas[i]}`, new Float32Array(o.n).fill(sigmas[i]), [o.n, 1]);
    for (let t = 0; t < o.stepsPerLevel; t++) {
      k++;
      device.scope(() => noGrad(() => langevinUpdate(x, model.score(x, sig), alpha, seed, { stream: k })));
      if (o.snapshotAt?.includes(k)) snaps.push({ step: k, t: noGrad(() => op.scale(x, 1)).keep() });
      if (k % every === 0) {
        await device.sync();
        o.onProgress?.(k, total);
      }
    }
  }
  if (o.denoise) {
    const sig = Tensor.constant(device, `sigma-col-${o.n}-${sigmaL}`, new Float32Array(o.n).fill(sigmaL), [o.n, 1]);
    const y = device.scope(() => noGrad(() => op.axpby(1, x, sigmaL * sigmaL, model.score(x, sig))));
    x.dispose();
    return finish(y.keep(), snaps);
  }
  return finish(x, snaps);
}
