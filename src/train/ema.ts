// Exponential moving average of the weights: θ̄ ← d·θ̄ + (1 − d)·θ, one fused kernel over the arena.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import type { ParamArena } from '../nn/module.js';
import { emaUpdate } from '../tensor/ops/optim.js';
import { copyInto } from '../tensor/ops/layout.js';

export class Ema {
  readonly shadow: Tensor;
  constructor(readonly device: Device, readonly arena: ParamArena, readonly decay: number) {
    this.shadow = arena.zerosLike('ema');
    copyInto(this.shadow, arena.data);
  }
  update(): void {
    emaUpdate(this.shadow, this.arena.data, this.decay);
  }
}
