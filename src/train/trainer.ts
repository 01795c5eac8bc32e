// The training loop. One step — batch draw, loss, backward, gradient norm, AdamW, EMA, loss
// accumulation — is recorded once and replayed: one command buffer and one queue.submit per step,
// nothing allocated in JS. Per-step values (the RNG clock, Adam's t and learning rate) live in small
// device buffers written before each replay. The loss is read back only every `logEvery` steps.
// Every step's loss and gradients are checked on the device (tensor/ops/guard.ts): a non-finite step
// is not applied, and at the next read the run stops naming the step and the first parameter whose
// gradient was not finite — or, with nonFinite: 'skip', goes on and counts the skipped steps.
// The training set lives on the device for the whole run — f32 rows, or 8-bit images kept as bytes
// and scaled in the gather — with its labels; a batch is drawn by uniform indices inside the step.
import type { Device, Recording } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { grad } from '../autograd/engine.js';
import { gather, copyInto } from '../tensor/ops/layout.js';
import { ByteRows } from '../tensor/ops/bytes.js';
import { StepHealth, type HealthReading } from '../tensor/ops/guard.js';
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
  /**
   * A step whose loss or gradients are NaN or infinite is never applied. 'stop' (default): the run
   * stops at the next loss read with TrainingDiverged. 'skip': it goes on; the skipped steps are
   * counted (onLog's third argument, Trainer.skippedSteps).
   */
  nonFinite?: 'stop' | 'skip';
}

/** Where the first non-finite step showed itself. */
export interface DivergedAt {
  /** The parameter whose gradient held the first non-finite value (arena order), its shape and the element. */
  param?: string;
  shape?: number[];
  element?: number;
  /** Σ grads² of that step (non-finite, or overflowing f32). */
  gradSumSq?: number;
}

export class TrainingDiverged extends Error {
  constructor(readonly step: number, readonly loss: number, readonly at: DivergedAt = {}, what?: string) {
    super(`training diverged at step ${step}: ${what ?? `loss is ${loss}`}`);
    this.name = 'TrainingDiverged';
  }
  get param(): string | undefined {
    return this.at.param;
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
  /** Loss sum, counts and the first non-finite step, on the device (read at the log interval). */
  readonly health: StepHealth;
  /** Steps not applied because their loss or gradients were not finite (nonFinite: 'skip'). */
  skippedSteps = 0;
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
    this.ema = cfg.emaDecay > 0 ? new Ema(device, arena, cfg.emaDecay, this.optimizer.state, true) : null;
    this.clock = createClock(device);
    this.noise = new StepNoise(device, cfg.seed, this.clock);
    this.health = new StepHealth(device);
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
      this.optimizer.update({ loss, health: this.health });
      this.ema?.update();
    });
  }

  /** Dispatches in one recorded step (for notes and tests). */
  get dispatchesPerStep(): number {
    return this.recording?.dispatchCount ?? 0;
  }

  /** The recorded step (made by the second runStep; null before, or with record: false), for tools that replay or inspect its dispatches. */
  get recordedStep(): Recording | null {
    return this.recording;
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
  }

  /**
   * The mean loss of the applied steps since the last read and the number skipped (one read-back).
   * Throws TrainingDiverged at a non-finite step ('stop'), or when every step since the last read
   * was skipped ('skip': the run is not going anywhere).
   */
  async readLog(): Promise<{ loss: number; skipped: number }> {
    const h = await this.health.read();
    if (h.firstBad && this.cfg.nonFinite !== 'skip') throw this.diverged(h);
    if (h.firstBad && h.good === 0) throw this.diverged(h, h.skipped);
    this.skippedSteps += h.skipped;
    if (!Number.isFinite(h.loss) && h.good > 0) throw new TrainingDiverged(this.step, h.loss, {}, `the mean loss of the last ${h.good} steps is ${h.loss}`);
    return { loss: h.loss, skipped: h.skipped };
  }

  /** Mean loss since the last read (one read-back); throws TrainingDiverged as readLog does. */
  async readLoss(): Promise<number> {
    return (await this.readLog()).loss;
  }

  /**
   * The error for the run's first non-finite step, naming the first parameter whose gradient was
   * not finite; with `allBad`, for a skipping run whose last `allBad` steps were all non-finite.
   */
  private diverged(h: HealthReading, allBad?: number): TrainingDiverged {
    const b = h.firstBad!;
    const p = b.element >= 0 ? this.arena.params.find(([, q]) => b.element >= q.offset && b.element < q.offset + q.size) : undefined;
    let what: string;
    const at: DivergedAt = { gradSumSq: b.gradSumSq };
    if (p) {
      Object.assign(at, { param: p[0], shape: [...p[1].shape], element: b.element - p[1].offset });
      what = `the first non-finite gradient is in parameter '${p[0]}' [${p[1].shape.join(', ')}], element ${b.element - p[1].offset} (loss ${b.loss})`;
    } else if (!Number.isFinite(b.loss)) what = `the loss is ${b.loss} (every gradient finite)`;
    else what = `the gradients' squared norm overflows f32 (${b.gradSumSq}; loss ${b.loss})`;
    if (allBad) return new TrainingDiverged(this.step, NaN, at, `the last ${allBad} steps were all non-finite (skipped); the run's first, step ${b.step}: ${what}`);
    return new TrainingDiverged(b.step, b.loss, at, what);
  }

  /**
   * Run `steps` steps, reading the loss every logEvery steps and after the last; onLog gets the
   * mean loss of the applied steps and how many were skipped as non-finite since the last log.
   */
  async run(steps: number, onLog?: (step: number, loss: number, skipped: number) => void | Promise<void>): Promise<void> {
    for (let i = 0; i < steps; i++) {
      this.runStep();
      if (this.step % this.cfg.logEvery === 0 || i === steps - 1) {
        const l = await this.readLog();
        await onLog?.(this.step, l.loss, l.skipped);
      }
    }
  }

  /** Free everything the trainer made on the device (the model's parameters stay: they are the arena's). */
  dispose(): void {
    this.recording?.dispose();
    this.recording = null;
    this.data.dispose();
    this.labels?.dispose();
    this.health.dispose();
    this.optimizer.dispose();
    this.ema?.dispose();
    this.clock.dispose();
    for (const g of this.gradViews) g.dispose();
  }
}
