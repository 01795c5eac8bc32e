// The part of a run in a folder that toy, image and classifier runs share: pick up where the
// checkpoint left off, then train to a step with the loss logged, the log and the checkpoint
// written every `checkpointEvery` steps and at the end, and a device loss or divergence said with
// what the folder still holds. What a run is made of (config, model, data, trainer) and what it
// does besides (sample grids, accuracy) stays with the run's own file.
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import type { Module } from '../nn/module.js';
import type { StFile } from '../io/safetensors.js';
import type { AtomicWriteOptions } from '../io/fs.js';
import { DeviceLostError } from '../gpu/errors.js';
import { TrainingDiverged, type Trainer } from './trainer.js';
import { saveCheckpoint, restoreTrainer } from './checkpoint.js';
import { RUN_FILES, writeLossCsv, readLossCsv, lostDuringTraining } from './run_dir.js';

export interface RunFolder {
  dir: string;
  model: Module;
  trainer: Trainer;
  /** What the checkpoint stores as the run's config (the run's own config, as config.json). */
  config: unknown;
  seed: number;
  /** Options of the run's atomic file writes (tests hook their stages to kill a writer mid-write). */
  write?: AtomicWriteOptions;
}

export interface LoopHooks {
  /** Checkpoint every this many steps (and at `end`). */
  checkpointEvery: number;
  /** What one step counts for in the rate: 1 (steps/s) or the batch size (images/s). */
  perStep: number;
  /** At every log, with the mean loss since the last log and the rate since this loop started. */
  onLog?: (step: number, loss: number, rate: number) => void | Promise<void>;
  /** After the log (and the checkpoint, when one was due): sample grids and the like. */
  afterLog?: (step: number) => void | Promise<void>;
}

export interface LoopResult {
  /** The rate over the whole loop (after the device has finished). */
  rate: number;
  /** Set when training stopped on a non-finite step: the checkpoint on disk is the last good one. */
  diverged?: TrainingDiverged;
}

/** A run's trainer driven to a step with its loss log and checkpoint kept in the run folder. */
export class RunLoop {
  readonly checkpointPath: string;
  /** (step, loss) at every log; on resume, the folder's log up to the checkpoint's step. */
  readonly lossHistory: [number, number][];
  /** The step of the checkpoint on disk (null: none written yet). */
  checkpointStep: number | null;

  /** With `resume`, the trainer continues from that checkpoint's weights, EMA, Adam moments and step. */
  constructor(private readonly run: RunFolder, resume: { file: StFile; step: number } | null) {
    this.checkpointPath = join(run.dir, RUN_FILES.checkpoint);
    this.checkpointStep = resume ? resume.step : null;
    if (resume) restoreTrainer(run.model, run.trainer, resume.file, this.checkpointPath, resume.step);
    this.lossHistory = resume ? readLossCsv(run.dir, resume.step) : [];
  }

  /** Write the loss log and the checkpoint of the trainer's current step. */
  async save(): Promise<void> {
    const { dir, model, trainer, config, seed, write } = this.run;
    // the log first: a kill between the two leaves a log ahead of the checkpoint, which resume
    // cuts back to the checkpoint's step (the other order would lose the rows in between)
    writeLossCsv(dir, this.lossHistory, write);
    await saveCheckpoint(this.checkpointPath, model, trainer, { config, step: trainer.step, seed }, write);
    this.checkpointStep = trainer.step;
  }

  /** Train from the trainer's step to `end` (nothing when it is there already). */
  async runTo(device: Device, end: number, h: LoopHooks): Promise<LoopResult> {
    const { trainer } = this.run;
    const t0 = performance.now();
    const s0 = trainer.step;
    let diverged: TrainingDiverged | undefined;
    try {
      await trainer.run(Math.max(0, end - trainer.step), async (step, loss) => {
        this.lossHistory.push([step, loss]);
        await h.onLog?.(step, loss, ((step - s0) * h.perStep) / ((performance.now() - t0) / 1000));
        if (step % h.checkpointEvery === 0 || step === end) await this.save();
        await h.afterLog?.(step);
      });
    } catch (e) {
      if (e instanceof DeviceLostError) throw lostDuringTraining(e, trainer.step, this.checkpointStep, this.run.dir);
      if (!(e instanceof TrainingDiverged)) throw e;
      diverged = e;
    }
    await device.sync();
    return { rate: ((trainer.step - s0) * h.perStep) / ((performance.now() - t0) / 1000), diverged };
  }
}
