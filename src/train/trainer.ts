// The training loop. One step — batch draw, loss, backward, gradient norm, AdamW, EMA, loss
// accumulation — is recorded once and replayed: one command buffer and one queue.submit per step,
// nothing allocated in JS. Per-step values (the RNG clock, Adam's t and learning rate) live in small
// device buffers written before each replay. The loss is read back only every `logEvery` steps.
import type { Device, Recording } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { grad } from '../autograd/engine.js';
import { gather, copyInto } from '../tensor/ops/layout.js';
import { accumulate, unary } from '../tensor/ops/elementwise.js';
import { createClock, randn, rademacher, randint, type Clock } from '../tensor/ops/random.js';
import type { ParamArena } from '../nn/module.js';
import type { Noise } from '../score/losses.js';
import { AdamW, type AdamConfig } from './optimizer.js';
import { Ema } from './ema.js';

export interface TrainerConfig {
  batchSize: number;
  seed: number;
  optim: AdamConfig;
  /** EMA decay of the weights (0 disables). */
  emaDecay: number;
  logEvery: number;
  /** Record the step once and replay it (default); false runs every step eagerly (debugging). */
  record?: boolean;
}

export class TrainingDiverged extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`training diverged: loss is ${loss} at step ${step}`);
  }
}

/** Noise draws keyed by (seed, clock step, call index): fresh values at every replay. */
class StepNoise implements Noise {
  private k = 0;
  constructor(private device: Device, private seed: number, private clock: Clock) {}
  reset() {
    this.k = 0;
  }
  private key() {
    return { clock: this.clock, stream: ++this.k };
  }
  normal(shape: number[]) {
    return randn(this.device, shape, this.seed, this.key());
  }
  rademacher(shape: number[]) {
    return rademacher(this.device, shape, this.seed, this.key());
  }
  randint(shape: number[], high: number) {
    return randint(this.device, shape, high, this.seed, this.key());
  }
}

export type LossFn = (batch: Tensor, noise: Noise) => Tensor;

export class Trainer {
  readonly data: Tensor;
  readonly n: number;
  readonly optimizer: AdamW;
  readonly ema: Ema | null;
  readonly clock: Clock;
  private noise: StepNoise;
  private lossAcc: Tensor;
  private accSteps = 0;
  private recording: Recording | null = null;
  private gradViews: Tensor[];
  /** Steps completed (the next step is step + 1). */
  step = 0;

  constructor(
    readonly device: Device,
    readonly arena: ParamArena,
    readonly lossFn: LossFn,
    data: Float32Array,
    readonly dim: number,
    readonly cfg: TrainerConfig,
  ) {
    this.n = data.length / dim;
    if (!Number.isInteger(this.n) || this.n < 1) throw new Error(`training data: ${data.length} values is not a whole number of ${dim}-dim rows`);
    this.data = Tensor.fromArray(device, data, [this.n, dim], 'train data').keep();
    this.optimizer = new AdamW(device, arena, cfg.optim);
    this.ema = cfg.emaDecay > 0 ? new Ema(device, arena, cfg.emaDecay, this.optimizer.state) : null;
    this.clock = createClock(device);
    this.noise = new StepNoise(device, cfg.seed, this.clock);
    this.lossAcc = unary('fill', Tensor.empty(device, [1], 'loss accumulator'), 0).keep();
    this.gradViews = arena.viewsOf(this.optimizer.grads);
  }

  /** The body of one step; every dispatch here is what a replay repeats. */
  private body(): void {
    this.device.scope(() => {
      this.noise.reset();
      const idx = this.noise.randint([this.cfg.batchSize], this.n);
      const batch = gather(this.data, idx, 0);
      const loss = this.lossFn(batch, this.noise);
      const params = this.arena.params.map(([, p]) => p.value);
      const grads = grad(loss, params, { allowUnused: true });
      grads.forEach((g, i) => {
        if (g) copyInto(this.gradViews[i], g);
      });
      this.optimizer.update();
      this.ema?.update();
      accumulate(this.lossAcc, loss);
    });
  }

  /** Dispatches in one recorded step (for notes and tests). */
  get dispatchesPerStep(): number {
    return this.recording?.dispatchCount ?? 0;
  }

  private prepare(step: number) {
    this.clock.set(step);
    this.optimizer.prepare(step);
  }

  /** Run one step: the first eagerly (creates constants, compiles pipelines), later ones by replay. */
  runStep(): void {
    const s = this.step + 1;
    this.prepare(s);
    if (this.cfg.record === false || this.step === 0 && !this.recording) {
      this.body();
      this.device.flush();
    } else {
      if (!this.recording) this.recording = this.device.record(() => this.body()).recording;
      this.recording.replay();
    }
    this.step = s;
    this.accSteps++;
  }

  /** Mean loss since the last read (one read-back); throws TrainingDiverged on NaN/Inf. */
  async readLoss(): Promise<number> {
    const total = (await this.lossAcc.toArray())[0];
    const mean = total / Math.max(1, this.accSteps);
    unary('fill', this.lossAcc, 0, 0, this.lossAcc);
    this.accSteps = 0;
    if (!Number.isFinite(mean)) throw new TrainingDiverged(this.step, mean);
    return mean;
  }

  async run(steps: number, onLog?: (step: number, loss: number) => void | Promise<void>): Promise<void> {
    for (let i = 0; i < steps; i++) {
      this.runStep();
      if (this.step % this.cfg.logEvery === 0 || i === steps - 1) {
        const l = await this.readLoss();
        await onLog?.(this.step, l);
      }
    }
  }

  dispose(): void {
    this.recording?.dispose();
  }
}
