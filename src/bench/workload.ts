// The image workloads the bench, the profiler and the A/B tool time: the trainer's own U-Net
// training step (src/train/image.ts + src/train/trainer.ts: batch gather from bytes on the device,
// the process's denoising loss, backward, gradient norm, AdamW, EMA, loss accumulation — recorded
// once and replayed) on synthetic 8-bit images, and the sampler chains of src/score/sampling run
// for a few steps. Nothing here restates a training step or a sampler: what is timed is what
// `scoregpu train` and `scoregpu sample` run.
import type { Device } from '../gpu/device.js';
import type { UNetPreset, UNet } from '../nn/unet.js';
import type { KernelPlan } from '../gpu/policy.js';
import type { ConvPlan } from '../tensor/ops/conv2d_plan.js';
import type { ParamArena } from '../nn/module.js';
import type { DiscreteProcess, ProcessSpec } from '../score/processes/index.js';
import type { NoiseConditionalNet } from '../score/losses.js';
import { imageConfig, buildImageModel, imageLoss, imageTrainerConfig, type ImageConfig } from '../train/image_recipes.js';
import { Trainer, type TrainingSet } from '../train/trainer.js';
import { byteScale } from '../data/images.js';
import { runPlan, type SamplerPlan } from '../score/sampling/index.js';
import { median } from './timing.js';

export type BenchProcess = 'ddpm' | 'ncsn';

/**
 * The process a bench workload trains. NCSN's σ levels normally come from the data
 * (resolveImageConfig); here they are fixed, as the cost of a step does not depend on them.
 */
export function benchProcessSpec(p: BenchProcess): ProcessSpec {
  return p === 'ncsn'
    ? { kind: 'ncsn', sigmaMax: 40, sigmaMin: 0.01, levels: 200 }
    : { kind: 'ddpm', schedule: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 };
}

/** `n` random 8-bit images of `shape` [C, H, W], scaled into the process's range in the gather as real data are. */
export function syntheticImages(shape: readonly number[], n: number, range: '[0,1]' | '[-1,1]', seed = 1): TrainingSet {
  const per = shape.reduce((a, b) => a * b, 1);
  const values = new Uint8Array(n * per);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < values.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    values[i] = s & 255;
  }
  return { values, rowShape: [...shape], ...byteScale(range) };
}

export interface ImageWorkload {
  cfg: ImageConfig;
  net: UNet;
  arena: ParamArena;
  process: DiscreteProcess;
  trainer: Trainer;
  dispose(): void;
}

/**
 * The trainer of an image run (the config `scoregpu train --model unet --preset P --process Q
 * --batch B` makes) on `nImages` synthetic images of 1×28×28. No step has run yet.
 */
export function imageWorkload(device: Device, o: { preset: UNetPreset; batch: number; process?: BenchProcess; nImages?: number; seed?: number }): ImageWorkload {
  const cfg = imageConfig({ preset: o.preset, batchSize: o.batch, process: benchProcessSpec(o.process ?? 'ddpm'), seed: o.seed ?? 0, data: 'synthetic' });
  const { net, arena, process } = buildImageModel(device, cfg);
  const set = syntheticImages(cfg.shape, o.nImages ?? 256, process.dataRange);
  const trainer = new Trainer(device, arena, imageLoss(device, process, net), set, imageTrainerConfig(cfg, 1_000_000));
  return { cfg, net, arena, process, trainer, dispose: () => trainer.dispose() };
}

export interface StepTiming {
  /** Median synchronised step time, ms. */
  stepMs: number;
  /** Median time for runStep() to return (JS: prepare + encode + submit), ms. */
  callMs: number;
  /** Every timed step, ms. */
  ms: number[];
  dispatchesPerStep: number;
  /** Queue submits per replayed step, counted (Device.submits). */
  submitsPerStep: number;
  /** Mean loss over the timed steps (a sanity check: finite). */
  loss: number;
}

/**
 * Time the trainer's step: the first runStep (eager: pipelines, constants) and the second (records,
 * then replays) untimed, then `steps` replays, each followed by a wait on the queue.
 */
export async function timeTrainSteps(device: Device, t: Trainer, steps: number): Promise<StepTiming> {
  while (t.step < 2) t.runStep();
  await device.sync();
  await t.readLoss();
  await device.sync(); // readLoss zeroes the accumulator with an eager dispatch: submit it before counting
  const ms: number[] = [], call: number[] = [];
  const s0 = device.submits;
  for (let i = 0; i < steps; i++) {
    const a = performance.now();
    t.runStep();
    const b = performance.now();
    await device.sync();
    ms.push(performance.now() - a);
    call.push(b - a);
  }
  const submits = device.submits - s0;
  const loss = await t.readLoss();
  return { stepMs: median(ms), callMs: median(call), ms, dispatchesPerStep: t.dispatchesPerStep, submitsPerStep: submits / steps, loss };
}

export interface PlanTiming {
  /** Median synchronised step time over the replayed steps, ms. */
  stepMs: number;
  ms: number[];
  dispatchesPerStep: number;
  submitsPerStep: number;
  /** Steps of the full plan (network evaluations per image). */
  nfe: number;
  /** Steps run (the plan's first ones). */
  ran: number;
}

/**
 * Time a sampler's chain (src/score/sampling/plan.ts runPlan, as `scoregpu sample` runs it) over its
 * first `steps` steps: every step costs the same (one network forward and one fused update, replayed
 * with new coefficients), so img/s for the whole plan is n / (nfe · stepMs). The first step runs
 * eagerly and the second records; steps from the third on are timed, each synchronised.
 */
export async function timePlanSteps(device: Device, net: NoiseConditionalNet, plan: SamplerPlan, o: { n: number; shape: readonly number[]; steps: number; seed?: number }): Promise<PlanTiming> {
  const ran = Math.min(plan.steps.length, o.steps + 2);
  const part: SamplerPlan = { ...plan, steps: plan.steps.slice(0, ran) };
  const marks: { k: number; t: number; submits: number }[] = [];
  await device.sync();
  const r = await runPlan(device, net, part, {
    n: o.n, shape: o.shape, seed: o.seed ?? 0, progressEvery: 1,
    onProgress: (k) => marks.push({ k, t: performance.now(), submits: device.submits }),
  });
  // marks[i] is taken after step i + 1 and a wait on the queue; steps 3.. are replays
  const ms: number[] = [];
  for (let i = 2; i < marks.length; i++) ms.push(marks[i].t - marks[i - 1].t);
  const submits = marks.length > 2 ? (marks[marks.length - 1].submits - marks[1].submits) / (marks.length - 2) : NaN;
  return { stepMs: median(ms), ms, dispatchesPerStep: r.dispatchesPerStep, submitsPerStep: submits, nfe: plan.steps.length, ran };
}

/**
 * Run `fn` once (in a scope, synchronised) counting the convolutions' FLOPs (2·Cout·Cin·k²·Ho·Wo
 * per image, from the shapes of the forward conv plans the calls make: policy.observe) and the
 * dispatches it issues.
 */
export async function convFlopsOf(device: Device, fn: () => void): Promise<{ flops: number; dispatches: number }> {
  let flops = 0;
  const count = (p: KernelPlan) => {
    if (p.op !== 'conv2d') return;
    const c = (p as ConvPlan).dims;
    flops += 2 * c.B * c.Cout * c.Ho * c.Wo * c.Cin * c.KH * c.KW;
  };
  const d0 = device.dispatches;
  device.withPolicy({ observe: count }, () => device.scope(fn));
  await device.sync();
  return { flops, dispatches: device.dispatches - d0 };
}
