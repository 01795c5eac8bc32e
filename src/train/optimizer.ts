// AdamW over the whole parameter arena in one fused kernel, with global-norm gradient clipping
// done on the device (the kernel reads Σg² and scales by min(1, c/‖g‖)) and a linear warm-up.
// Steps whose loss or gradients are not finite can be refused on the device (update's guard).
import type { Device } from '../gpu/device.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParamArena } from '../nn/module.js';
import { sumSquares } from '../tensor/ops/reduce.js';
import { adamStep, createOptimState, writeOptimState, type OptimState } from '../tensor/ops/optim.js';
import type { StepHealth } from '../tensor/ops/guard.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  clipNorm: number;
  /** Linear learning-rate warm-up over this many steps (0: none). */
  warmup: number;
  /** After warm-up: constant, or cosine decay to lr·lrEndFactor at step decaySteps. */
  schedule?: 'constant' | 'cosine';
  decaySteps?: number;
  lrEndFactor?: number;
}

export const LR_SCHEDULES = ['constant', 'cosine'] as const;

export const defaultAdam = (over: Partial<AdamConfig> = {}): AdamConfig => ({
  lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clipNorm: 1, warmup: 0, ...over,
});

/**
 * lr(t) = lr · min(1, t/warmup) · c(t), with c = 1 (constant) or, for cosine,
 * c(t) = f + (1 − f)·½(1 + cos(π·min(1, (t − warmup)/(T − warmup)))), f = lrEndFactor, T = decaySteps.
 * Decaying the rate is what makes the last weights precise for noisy objectives (DSM at small σ).
 */
export function scheduledLr(cfg: AdamConfig, step: number): number {
  const { lr, warmup, schedule = 'constant', decaySteps = 0, lrEndFactor = 0 } = cfg;
  const w = warmup > 0 ? Math.min(1, step / warmup) : 1;
  if (schedule !== 'cosine' || decaySteps <= warmup) return lr * w;
  const u = Math.min(1, Math.max(0, (step - warmup) / (decaySteps - warmup)));
  return lr * w * (lrEndFactor + (1 - lrEndFactor) * 0.5 * (1 + Math.cos(Math.PI * u)));
}

export class AdamW {
  readonly grads: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
  readonly state: OptimState;

  constructor(readonly device: Device, readonly arena: ParamArena, readonly cfg: AdamConfig) {
    this.grads = arena.zerosLike('gradients');
    this.m = arena.zerosLike('adam m');
    this.v = arena.zerosLike('adam v');
    this.state = createOptimState(device);
  }

  /** Free the gradients, moments and per-step state. */
  dispose(): void {
    this.grads.dispose();
    this.m.dispose();
    this.v.dispose();
    this.state.dispose();
  }

  lrAt(step: number): number {
    return scheduledLr(this.cfg, step);
  }

  /** Write step t's learning rate and bias-correction step (before the step is encoded or replayed). */
  prepare(step: number): void {
    writeOptimState(this.state, { lr: this.lrAt(step), t: step });
  }

  /**
   * Encode the update (inside the recorded step). With `guard`, the step's loss and Σ grads² are
   * checked on the device first and a non-finite step is not applied (guard.ts).
   */
  update(guard?: { loss: Tensor; health: StepHealth }): void {
    const sumsq = this.cfg.clipNorm > 0 || guard ? sumSquares(this.grads) : undefined;
    if (guard) guard.health.check(guard.loss, sumsq!, this.grads, this.state);
    adamStep(
      { params: this.arena.data, grads: this.grads, m: this.m, v: this.v },
      { beta1: this.cfg.beta1, beta2: this.cfg.beta2, eps: this.cfg.eps, weightDecay: this.cfg.weightDecay },
      this.state,
      { gradSumSq: sumsq, maxNorm: this.cfg.clipNorm || undefined, guarded: !!guard },
    );
  }
}
