// Exponential moving average of the weights: θ̄ ← d·θ̄ + (1 − d)·θ, one fused kernel over the arena.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import type { ParamArena } from '../nn/module.js';
import { emaUpdate, type OptimState } from '../tensor/ops/optim.js';
import { copyInto } from '../tensor/ops/layout.js';

export class Ema {
  readonly shadow: Tensor;
  /**
   * With `state` (the optimizer's), the decay warms up with its step: min(decay, (1+t)/(10+t)); with
   * `guarded`, a step the optimizer's guard refused (non-finite) leaves the average as it is.
   */
  constructor(readonly device: Device, readonly arena: ParamArena, readonly decay: number, readonly state?: OptimState, readonly guarded = false) {
    this.shadow = arena.zerosLike('ema');
    copyInto(this.shadow, arena.data);
  }
  dispose(): void {
    this.shadow.dispose();
  }
  update(): void {
    emaUpdate(this.shadow, this.arena.data, this.decay, { warmupFrom: this.state, guardedBy: this.guarded ? this.state : undefined });
  }
}
