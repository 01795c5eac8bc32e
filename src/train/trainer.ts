// The training loop. One step — batch draw, loss, backward, gradient norm, AdamW, EMA, loss
// accumulation — is recorded once and replayed: one command buffer and one queue.submit per step,
// nothing allocated in JS. Per-step values (the RNG clock, Adam's t and learning rate) live in small
// device buffers written before each replay. The loss is read back only every `logEvery` steps.
// The training set lives on the device for the whole run — f32 rows, or 8-bit images kept as bytes
// and scaled in the gather — with its labels; a batch is drawn by uniform indices inside the step.
import type { Device, Recording } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { grad } from '../autograd/engine.js';
import { gather, copyInto } from '../tensor/ops/layout.js';
import { ByteRows } from '../tensor/ops/bytes.js';
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

/**
 * A training set: N rows of `rowShape` ([D] vectors or [C, H, W] images). 8-bit values (image
 * pixels) stay bytes on the device and are scaled in the gather: x = byte·scale + shift.
 */
export interface TrainingSet {
  values: Float32Array | Uint8Array;
  rowShape: number[];
  /** For byte values: x = byte·scale + shift (e.g. 2/255, −1 for [−1, 1]). */
  scale?: number;
  shift?: number;
  /** Optional integer labels, one per row (class-conditional losses receive the batch's). */
  labels?: ArrayLike<number>;
}

/** [N, D] float rows. */
export function rows(values: Float32Array, dim: number): TrainingSet {
  return { values, rowShape: [dim] };
}

/** The loss of one batch [B, ...rowShape]; `labels` [B, 1] (f32 integers) when the set has them. */
export type LossFn = (batch: Tensor, noise: Noise, labels?: Tensor) => Tensor;

export class Trainer {
  /** The training set on the device: f32 rows, or bytes gathered and scaled. */
  readonly data: Tensor | ByteRows;
  readonly labels: Tensor | null;
  readonly n: number;
  readonly rowShape: number[];
  readonly optimizer: AdamW;
  readonly ema: Ema | null;
  readonly clock: Clock;
  private noise: StepNoise;
  private lossAcc: Tensor;
  private accSteps = 0;
  private recording: Recording | null = null;
  /** Whether this instance has run a step eagerly (a resumed trainer starts at step > 0 but its constants are not made yet). */
  private warmed = false;
  private gradViews: Tensor[];
  private byteScale: [number, number];
  /** Steps completed (the next step is step + 1). */
  step = 0;

  constructor(
    readonly device: Device,
    readonly arena: ParamArena,
    readonly lossFn: LossFn,
    set: TrainingSet,
    readonly cfg: TrainerConfig,
  ) {
    this.rowShape = [...set.rowShape];
    const row = this.rowShape.reduce((a, b) => a * b, 1);
    this.n = set.values.length / row;
    if (!Number.isInteger(this.n) || this.n < 1) throw new Error(`training data: ${set.values.length} values is not a whole number of rows of shape [${this.rowShape.join(', ')}]`);
    if (set.labels && set.labels.length !== this.n) throw new Error(`training data: ${set.labels.length} labels for ${this.n} rows`);
    this.data = set.values instanceof Uint8Array
      ? new ByteRows(device, set.values, this.rowShape, 'train data')
      : Tensor.fromArray(device, set.values, [this.n, ...this.rowShape], 'train data').keep();
    this.byteScale = [set.scale ?? 1, set.shift ?? 0];
    this.labels = set.labels ? Tensor.fromArray(device, Float32Array.from(set.labels), [this.n, 1], 'train labels').keep() : null;
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
      const batch = this.data instanceof ByteRows ? this.data.gatherScaled(idx, ...this.byteScale) : gather(this.data, idx, 0);
      const labels = this.labels ? gather(this.labels, idx, 0) : undefined;
      const loss = this.lossFn(batch, this.noise, labels);
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

  /** Run one step: this instance's first eagerly (creates constants, compiles pipelines), later ones by replay. */
  runStep(): void {
    const s = this.step + 1;
    this.prepare(s);
    if (this.cfg.record === false || !this.warmed) {
      this.body();
      this.device.flush();
      this.warmed = true;
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
    this.data.dispose();
    this.labels?.dispose();
  }
}
