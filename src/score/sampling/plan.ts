// A sampler is a plan: where the chain starts and, per step, the network's noise-level input and
// the coefficients of the one fused update (src/tensor/ops/affine_update.ts)
//   x̂₀ = p·x + q·out,  [clip x̂₀],  x ← a·x + b·x̂₀ + c·z.
// Each sampler file computes its plan in float64 from the process — the math lives there, readable
// and testable against a reference without a GPU — and `runPlan` executes any plan on the device:
// one step (network forward + update) recorded once and replayed, the host writing only the step's
// coefficients, its noise-level column and the RNG clock before each replay; nothing is read back
// until the end (and at the snapshots asked for).
//
// Samplers that carry more than x between evaluations (multistep DPM-Solver++ keeps the last x̂₀,
// Heun's second stage needs the first stage's point) are programs: a fixed list of the same fused
// update over up to three registers — x (what the network reads), h and r (scratch) —
//   target ← a·target + b·clip?(p·target + q·source) + c·z,   source ∈ {out, x, h, r},
// run in order after each network call, with coefficients per step and op (an op a step does not
// use gets the identity a = 1, b = c = 0). Every step then has the same dispatches, so one recording
// still serves the whole chain. An op may take its b and c from Langevin's signal-to-noise rule,
// computed on the device from the step's score and noise (see `snrCoefficients`).
//
// Two additions serve inpainting (../inpaint/): a step may say the noise level it leaves x at
// (`level`: x = mean·x₀ + std·z), which a per-step hook (`RunOptions.hook`, recorded into the step
// after the updates) reads to replace the known pixels by the data noised to that level; and a step
// may be a forward-noising step without a network evaluation (`noise`: x ← a·x + c·z, RePaint's jump
// back), replayed from a recording of its own.
import type { Device } from '../../gpu/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/engine.js';
import * as op from '../../autograd/ops.js';
import { rand, randn, createClock, type Clock } from '../../tensor/ops/random.js';
import { fill, unary } from '../../tensor/ops/elementwise.js';
import { affineUpdate, UpdateCoefficients, type UpdateCoef } from '../../tensor/ops/affine_update.js';
import type { NoiseConditionalNet } from '../losses.js';
import type { DiscreteProcess, Marginal } from '../processes/process.js';

export interface PlanStep {
  /** The network's noise-level input for this step (σ or t). */
  cond: number;
  /** The update of a one-op plan (ignored by programs, which give `coefs`). */
  coef: UpdateCoef;
  /** A program's coefficients, one per op in the program's order. */
  coefs?: UpdateCoef[];
  /** For an op with the signal-to-noise rule: its step = scale·(‖z‖/‖s‖)² (0: the op's own b, c only). */
  snr?: SnrStep;
  /** Noise index of the step (for progress and previews). */
  index?: number;
  /**
   * The marginal of the x this step's network call reads (x = mean·x₀ + std·ε), for samplers whose
   * steps have no noise index (PC, EM, Heun): previews take x̂₀ from the output at this level.
   */
  input?: Marginal;
  /** Where the step leaves x: x = mean·x₀ + std·z (mean 1, std 0: clean). What inpainting projects to. */
  level?: Marginal;
  /** A forward-noising step: x ← coef.a·x + coef.c·z, no network evaluation (RePaint's jump back). */
  noise?: boolean;
}

/**
 * Work run after every network step's updates, inside the recorded step (inpainting's projection):
 * `before` writes the step's scalars on the host before the replay; `apply` records the dispatches on
 * the chain's x, keyed by the run's seed and clock; `finish` runs once, eagerly, after the last step.
 * The caller owns and disposes what the hook allocates.
 */
export interface StepHook {
  before(step: PlanStep, k: number): void;
  apply(x: Tensor, key: { seed: number; clock: Clock }): void;
  finish?(x: Tensor, key: { seed: number; clock: Clock }): void;
}

/** A program's registers: x is the chain's state and the network's input. */
export type Register = 'x' | 'h' | 'r';

/** target ← a·target + b·clip?(p·target + q·source) + c·z. */
export interface ProgramOp {
  target: Register;
  source: Register | 'out';
  clip?: boolean;
  /** b += step, c += noise·√(2·step) with Langevin's step from the signal-to-noise rule (score = p·target + q·source). */
  snr?: boolean;
}

/** score_sde's Langevin corrector: step = 2α·(snr·‖z‖/‖s‖)², ‖·‖ per sample, averaged over the batch. */
export interface SnrStep {
  /** 2α·snr² (0 on steps that are not Langevin corrector steps). */
  scale: number;
  /** 1: add √(2·step)·z; 0: the noise-free x_mean (final denoising). */
  noise: number;
}

/** The identity op: target ← target. */
export const IDENTITY: UpdateCoef = { p: 0, q: 0, a: 1, b: 0, c: 0 };

export interface SamplerPlan {
  /** Which sampler made the plan (for messages and records). */
  name: string;
  /** x_start ~ N(0, std²) or U(lo, hi), elementwise. */
  init: { kind: 'normal'; std: number } | { kind: 'uniform'; lo: number; hi: number };
  steps: PlanStep[];
  /** Clamp x̂₀ to [coef.lo, coef.hi] in every step (DDPM/DDIM's clip_sample). */
  clip: boolean;
  /** A program's ops (default: the single op x ← a·x + b·clip?(p·x + q·out) + c·z). */
  ops?: ProgramOp[];
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
  /**
   * Watch the chain: every `every` steps (and after the last) `onPreview` gets x and the model's
   * estimate of the clean images at that step, x̂₀ = cx·x + co·out with (cx, co) from `estimate`
   * (the model-output adapter's x₀ at the step's noise level), both read back. Preview steps replay
   * a second recording of the step that also writes x̂₀ (one copy and one fused update more).
   */
  preview?: { every: number; estimate: (step: PlanStep) => { cx: number; co: number }; onPreview: (p: Preview) => void | Promise<void> };
  /** Stops the chain between steps: runPlan rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Runs after each network step's updates (see StepHook). */
  hook?: StepHook;
}

export interface Preview {
  /** Steps done (1-based) and in all. */
  step: number;
  total: number;
  /** Noise index of the step, if the plan names it. */
  index?: number;
  /** The chain after the step, and the model's x̂₀ from the x the step started at. */
  x: Float32Array;
  x0: Float32Array;
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
  const ops: ProgramOp[] = plan.ops ?? [{ target: 'x', source: 'out', clip: plan.clip }];
  for (const s of plan.steps) {
    if (s.noise && plan.ops) throw new Error(`${plan.name}: forward-noising steps need a one-op plan`);
    if (plan.ops && !s.noise && s.coefs?.length !== ops.length) throw new Error(`${plan.name}: a step has ${s.coefs?.length ?? 0} coefficient sets for ${ops.length} ops`);
  }
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const shape = [o.n, ...o.shape];
  const init = plan.init;
  const x = noGrad(() =>
    init.kind === 'normal'
      ? op.scale(randn(device, shape, seed, { stream: 0 }), init.std)
      : op.affine(rand(device, shape, seed, { stream: 0 }), init.hi - init.lo, init.lo),
  ).keep();
  const used = new Set(ops.flatMap((p) => [p.target, p.source]));
  const regs: Record<Register, Tensor | null> = {
    x,
    h: used.has('h') ? fill(device, shape, 0).keep() : null,
    r: used.has('r') ? fill(device, shape, 0).keep() : null,
  };
  const cond = Tensor.fromArray(device, new Float32Array(o.n), [o.n, 1], 'noise level').keep();
  const coefs = ops.map(() => new UpdateCoefficients(device));
  const snr = ops.some((p) => p.snr) ? new SnrState(device) : null;
  const clock = createClock(device);
  // x̂₀ for previews: the fused update on a copy of x with (p, q, a, b, c) = (cx, co, 0, 1, 0)
  const coefX0 = o.preview ? new UpdateCoefficients(device) : null;
  const estimateX0 = (out: Tensor) => affineUpdate(op.affine(x, 1, 0), out, coefX0!, { seed, stream: 0, clock });
  const body = (withX0 = false) =>
    device.scope(() =>
      noGrad(() => {
        const out = net.forward(x, cond);
        const x0 = withX0 ? estimateX0(out) : null; // before x changes in place
        ops.forEach((p, j) => {
          const target = regs[p.target]!, source = p.source === 'out' ? out : regs[p.source]!;
          const key = { seed, stream: 1 + j, clock };
          const coef = p.snr ? snr!.coefficients(coefs[j].t, target, source, key) : coefs[j].t;
          affineUpdate(target, source, { t: coef }, { ...key, clip: !!p.clip });
        });
        o.hook?.apply(x, { seed, clock });
        return x0;
      }),
    );
  // a forward-noising step: x ← a·x + b·clip?(p·x + q·0) + c·z with the step's coefficients (p = q = b = 0)
  const noiseOut = plan.steps.some((s) => s.noise) ? fill(device, shape, 0).keep() : null;
  const noiseBody = () => device.scope(() => noGrad(() => void affineUpdate(x, noiseOut!, coefs[0], { seed, stream: 1, clock })));
  let recNoise: ReturnType<Device['record']>['recording'] | null = null;
  let rec: ReturnType<Device['record']>['recording'] | null = null;
  let recPreview: { recording: ReturnType<Device['record']>['recording']; result: Tensor | null } | null = null;
  const previewEvery = o.preview ? Math.max(1, Math.floor(o.preview.every)) : 0;
  const snaps: { step: number; samples: Float32Array }[] = [];
  const total = plan.steps.length;
  const every = o.progressEvery ?? 10;
  const condHost = new Float32Array(o.n);
  let lastCond = NaN;
  let evaluated = false;
  try {
    for (let k = 0; k < total; k++) {
      o.signal?.throwIfAborted();
      const s = plan.steps[k];
      if (s.noise) {
        if (s.coef.p !== 0 || s.coef.q !== 0 || s.coef.b !== 0) throw new Error(`${plan.name}: a forward-noising step must have p = q = b = 0`);
        coefs[0].write(s.coef);
        clock.set(k + 1);
        recNoise ??= device.record(noiseBody).recording;
        recNoise.replay();
        if (o.snapshotAt?.includes(k + 1)) snaps.push({ step: k + 1, samples: await x.toArray() });
        if ((k + 1) % every === 0 || k + 1 === total) {
          await device.sync();
          o.onProgress?.(k + 1, total);
        }
        continue;
      }
      if (plan.ops) s.coefs!.forEach((c, j) => coefs[j].write(c));
      else coefs[0].write(s.coef);
      o.hook?.before(s, k);
      snr?.write(s.snr ?? { scale: 0, noise: 0 });
      if (s.cond !== lastCond) {
        cond.write(condHost.fill(s.cond));
        lastCond = s.cond;
      }
      clock.set(k + 1);
      const previewing = previewEvery > 0 && ((k + 1) % previewEvery === 0 || k + 1 === total);
      const first = !evaluated;
      evaluated = true;
      if (previewing) {
        const e = o.preview!.estimate(s);
        coefX0!.write({ p: e.cx, q: e.co, a: 0, b: 1, c: 0 });
      }
      let x0: Tensor | null = null;
      if (first) {
        x0 = body(previewing); // eager: creates constants and compiles pipelines
        device.flush();
      } else if (previewing) {
        recPreview ??= device.record(() => body(true));
        recPreview.recording.replay();
        x0 = recPreview.result;
      } else {
        rec ??= device.record(() => body()).recording;
        rec.replay();
      }
      if (x0) {
        const p: Preview = { step: k + 1, total, index: s.index, x: await x.toArray(), x0: await x0.toArray() };
        if (first) x0.dispose();
        await o.preview!.onPreview(p);
      }
      if (o.snapshotAt?.includes(k + 1)) snaps.push({ step: k + 1, samples: await x.toArray() });
      if ((k + 1) % every === 0 || k + 1 === total) {
        await device.sync(); // bounds the queue and keeps the progress honest; nothing is read
        o.onProgress?.(k + 1, total);
      }
    }
    if (o.hook?.finish) device.scope(() => noGrad(() => o.hook!.finish!(x, { seed, clock })));
    const samples = await x.toArray();
    const nfe = plan.steps.filter((s) => !s.noise).length;
    return { samples, snapshots: snaps, nfe, dispatchesPerStep: rec?.dispatchCount ?? 0, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rec?.dispose();
    recNoise?.dispose();
    noiseOut?.dispose();
    recPreview?.recording.dispose();
    recPreview?.result?.dispose();
    coefX0?.dispose();
    x.dispose();
    regs.h?.dispose();
    regs.r?.dispose();
    cond.dispose();
    coefs.forEach((c) => c.dispose());
    snr?.dispose();
    clock.dispose();
  }
}

/**
 * The Langevin corrector's step on the device (score_sde's LangevinCorrector), never read back:
 *   s = p·target + q·source (the score),  z = the op's own noise (randn under the update's key),
 *   step = scale·(mean_b ‖z_b‖ / mean_b ‖s_b‖)²,   scale = 2α·snr²,
 *   coefficients = the host's [p, q, a, b, c, lo, hi] + step on b + noise·√(2·step) on c.
 * ‖s‖ is floored at 1e-12 so that a zero score with scale 0 (a predictor step) gives 0, not NaN.
 */
class SnrState {
  /** [scale, noise], written before each replay. */
  readonly params: Tensor;
  private readonly onB: Tensor;
  private readonly onC: Tensor;
  constructor(device: Device) {
    this.params = Tensor.fromArray(device, new Float32Array(2), [2], 'snr rule').keep();
    this.onB = Tensor.fromArray(device, Float32Array.from([0, 0, 0, 1, 0, 0, 0, 0]), [8]).keep();
    this.onC = Tensor.fromArray(device, Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0]), [8]).keep();
  }
  write(s: SnrStep): void {
    if (!(Number.isFinite(s.scale) && s.scale >= 0)) throw new RangeError(`snr rule: scale ${s.scale} must be finite and ≥ 0`);
    this.params.write([s.scale, s.noise]);
  }
  coefficients(base: Tensor, target: Tensor, source: Tensor, key: { seed: number; stream: number; clock: Clock }): Tensor {
    const at = (t: Tensor, i: number) => op.slice(t, [i], [1]);
    const score = op.add(op.mul(target, at(base, 0)), op.mul(source, at(base, 1)));
    const z = randn(target.device, target.shape, key.seed, { stream: key.stream, clock: key.clock });
    const sNorm = unary('clamp', meanRowNorm(score), 1e-12, 3e38);
    const ratio = op.div(meanRowNorm(z), sNorm);
    const step = op.mul(at(this.params, 0), op.square(ratio));
    const c = op.mul(at(this.params, 1), op.sqrt(op.scale(step, 2)));
    return op.add(base, op.add(op.mul(step, this.onB), op.mul(c, this.onC)));
  }
  dispose(): void {
    [this.params, this.onB, this.onC].forEach((t) => t.dispose());
  }
}

/** mean over the batch of the per-sample Euclidean norms, [1]. */
export function meanRowNorm(t: Tensor): Tensor {
  const rows = op.reshape(t, [t.shape[0], t.size / t.shape[0]]);
  return op.mean(op.sqrt(op.sum(op.square(rows), 1)));
}

/** The data range of a process's images, as clip bounds for x̂₀. */
export function dataBounds(proc: { dataRange: '[0,1]' | '[-1,1]' }): [number, number] {
  return proc.dataRange === '[0,1]' ? [0, 1] : [-1, 1];
}

/**
 * The std of the Gaussian a chain starting at `index` draws from. The prior N(0, P²) stands for x at
 * the last index, x = m·x₀ + s·ε, so it credits the data with variance v = (P² − s²)/m² there (VP: 1,
 * VE: 0); a chain that starts lower (DDIM's leading spacing) draws with the same v at its own index:
 * √(s₀² + m₀²·v). For VP-type processes that is P again (s² + m² = 1); for VE it is s₀, not σ_max —
 * the excess noise would survive into x̂₀.
 */
export function startStd(proc: DiscreteProcess, index: number): number {
  if (index === proc.N - 1) return proc.priorStd;
  const top = proc.marginal(proc.N - 1), at = proc.marginal(index);
  const v = Math.max(0, (proc.priorStd ** 2 - top.std ** 2) / top.mean ** 2);
  // a schedule with m = 0 at the top (zero terminal SNR) tells nothing of v: start from the prior
  return Number.isFinite(v) ? Math.sqrt(at.std ** 2 + at.mean ** 2 * v) : proc.priorStd;
}
