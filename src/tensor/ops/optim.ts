// Fused optimizer kernels (shaders/adam.wgsl, shaders/ema.wgsl) over flat parameter arenas.
//
// Per-step values live in an OptimState: a small storage buffer holding {lr, t, gradScale} that
// the host rewrites with writeOptimState between replays of a recorded training step, so the
// recording's bind groups and uniforms never change. Constant hyper-parameters (β₁, β₂, ε, weight
// decay, max norm) go in the dispatch's uniform. Bias corrections 1 − βᵗ are computed on the device
// from t without cancellation (one_minus_pow in adam.wgsl), once per step by a one-invocation
// prologue dispatch, so adamStep is two dispatches.
import adamSource from '../../../shaders/adam.wgsl';
import emaSource from '../../../shaders/ema.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { DeviceLocal, type Device } from '../../gpu/device.js';
import { KernelError, ShapeError, fmtShape } from '../../gpu/errors.js';

const WG = 256;

/** The per-step optimizer values on the device: [lr (f32 bits), t (u32), gradScale (f32 bits), 0]. */
export class OptimState {
  readonly buffer: GPUBuffer;
  /** Per-step scalars the Adam prologue derives on the device (lr, gradient scale, bias corrections). */
  readonly scratch: GPUBuffer;
  lr = 0;
  t = 0;
  gradScale = 1;
  disposed = false;
  constructor(readonly device: Device) {
    this.buffer = device.device.createBuffer({ size: 256, usage: 0x80 /* STORAGE */ | 0x8 /* COPY_DST */, label: 'optim state' });
    this.scratch = device.device.createBuffer({ size: 256, usage: 0x80 /* STORAGE */, label: 'optim derived' });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.flush();
    this.buffer.destroy();
    this.scratch.destroy();
  }
}

/** A fresh state (lr 0, t 1, gradScale 1). `stepBuffer` in the design notes. */
export function createOptimState(device: Device, init: { lr?: number; t?: number; gradScale?: number } = {}): OptimState {
  const s = new OptimState(device);
  writeOptimState(s, { lr: init.lr ?? 0, t: init.t ?? 1, gradScale: init.gradScale });
  return s;
}

/**
 * Write step t's values (t counts from 1: the first update uses t = 1). Call before the eager step
 * or between replays, never inside a recording. `gradScale` (default 1, or the last value written)
 * multiplies the gradient, e.g. 1/lossScale or 1/accumulationSteps.
 */
export function writeOptimState(state: OptimState, v: { lr: number; t: number; gradScale?: number }): void {
  if (state.disposed) throw new KernelError('OptimState used after dispose()');
  if (!Number.isInteger(v.t) || v.t < 1 || v.t > 0xffffffff) throw new KernelError(`writeOptimState: t must be an integer ≥ 1 (the step being taken), got ${v.t}`);
  if (!Number.isFinite(v.lr)) throw new KernelError(`writeOptimState: lr must be finite, got ${v.lr}`);
  const gs = v.gradScale ?? state.gradScale;
  const buf = new ArrayBuffer(16);
  const dv = new DataView(buf);
  dv.setFloat32(0, v.lr, true);
  dv.setUint32(4, v.t, true);
  dv.setFloat32(8, gs, true);
  state.device.write(state.buffer, new Uint8Array(buf));
  state.lr = v.lr;
  state.t = v.t;
  state.gradScale = gs;
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface ClipOptions {
  /** [1] tensor holding Σ grads² (e.g. reduce.ts sumSquares(grads)), produced on the device. */
  gradSumSq?: Tensor;
  /** Clip the global norm of gradScale·grads to this; needs gradSumSq. */
  maxNorm?: number;
  /** Leave everything as it is when the step's guard (guard.ts StepHealth.check, earlier in the same step) found it non-finite. */
  guarded?: boolean;
}

export interface OptimTensors {
  params: Tensor;
  grads: Tensor;
  m: Tensor;
  v: Tensor;
}

/** A second dummy buffer of the device: the SGD step binds m and v both to dummies, and one buffer may not take two writable bindings of a dispatch. */
const DUMMY2 = new DeviceLocal('optim dummy', (d) => d.device.createBuffer({ size: 256, usage: 0x80 | 0x8, label: 'optim dummy' }));
function dummy2(device: Device): GPUBuffer {
  return device.local(DUMMY2);
}

function clipSetup(op: string, device: Device, state: OptimState, clip: ClipOptions) {
  if (state.device !== device) throw new KernelError(`${op}: optimizer state belongs to another device`);
  if (state.disposed) throw new KernelError(`${op}: OptimState used after dispose()`);
  const on = clip.maxNorm !== undefined && clip.maxNorm > 0;
  if (on && !clip.gradSumSq) throw new KernelError(`${op}: maxNorm needs gradSumSq (a [1] tensor holding Σ grads²)`);
  if (clip.gradSumSq && clip.gradSumSq.size < 1) throw new ShapeError(`${op}: gradSumSq must hold one value`);
  return { on, gsq: on ? (clip.gradSumSq as Tensor) : state.buffer /* unused, read-only */ };
}

function checkSizes(op: string, ref: Tensor, named: Record<string, Tensor | undefined>): void {
  const seen: Tensor[] = [];
  for (const [name, t] of Object.entries(named)) {
    if (!t) continue;
    if (t.size !== ref.size) throw new ShapeError(`${op}: ${name} ${fmtShape(t.shape)} does not match params ${fmtShape(ref.shape)}`);
    for (const u of seen) {
      if (u.buffer === t.buffer && u.byteOffset < t.byteOffset + t.byteSize && t.byteOffset < u.byteOffset + u.byteSize) {
        throw new ShapeError(`${op}: ${name} shares storage with another operand`);
      }
    }
    seen.push(t);
  }
}

/**
 * One fused AdamW step over equal-sized tensors (or arena views), in place on params, m, v:
 *   g = gradScale·clip·grads;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
 *   params ← params − lr·( (m/(1−β₁ᵗ)) / (√v/√(1−β₂ᵗ) + ε) + weightDecay·params )
 * lr, t and gradScale come from `state` (writeOptimState); clip = min(1, maxNorm/(‖g‖+1e-6)).
 */
export function adamStep(t: OptimTensors, hyper: AdamHyper, state: OptimState, clip: ClipOptions = {}): void {
  const device = sameDevice('adamStep', t.params, t.grads, t.m, t.v, ...(clip.gradSumSq ? [clip.gradSumSq] : []));
  checkSizes('adamStep', t.params, { params: t.params, grads: t.grads, m: t.m, v: t.v });
  for (const [k, b] of [['beta1', hyper.beta1], ['beta2', hyper.beta2]] as const) {
    if (!(b >= 0.5 && b < 1)) throw new KernelError(`adamStep: ${k} must be in [0.5, 1), got ${b}`);
  }
  const c = clipSetup('adamStep', device, state, clip);
  const constants = { WG, CLIP: c.on ? 1 : 0, NESTEROV: 0, GUARD: clip.guarded ? 1 : 0 };
  const bindings = {
    params: t.params, grads: t.grads, m: t.m, v: t.v, hyper: state.buffer, gsq: c.gsq, derived: state.scratch,
    p: { n: t.params.size, beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps, weightDecay: hyper.weightDecay, maxNorm: clip.maxNorm ?? 0 },
  };
  if (t.params.size === 0) return;
  device.run({ file: 'adam.wgsl', source: adamSource, entry: 'adam_prologue', constants }, bindings, 1);
  device.run({ file: 'adam.wgsl', source: adamSource, entry: 'adam', constants }, bindings, grid1d(device, t.params.size, WG));
}

export interface SgdHyper {
  momentum?: number;
  /** L2 penalty added to the gradient (PyTorch SGD convention). */
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * SGD (with momentum when `m` is given and momentum > 0), lr and gradScale from `state`:
 *   g = gradScale·clip·grads + wd·params;  m ← μm + g;  params ← params − lr·(nesterov ? g + μm : m)
 */
export function sgdStep(t: { params: Tensor; grads: Tensor; m?: Tensor }, hyper: SgdHyper, state: OptimState, clip: ClipOptions = {}): void {
  const mu = hyper.momentum ?? 0;
  if (mu !== 0 && !t.m) throw new KernelError('sgdStep: momentum needs a momentum buffer `m`');
  const device = sameDevice('sgdStep', t.params, t.grads, ...(t.m ? [t.m] : []));
  checkSizes('sgdStep', t.params, { params: t.params, grads: t.grads, m: mu !== 0 ? t.m : undefined });
  const c = clipSetup('sgdStep', device, state, clip);
  device.run(
    { file: 'adam.wgsl', source: adamSource, entry: 'sgd', constants: { WG, CLIP: c.on ? 1 : 0, NESTEROV: hyper.nesterov ? 1 : 0 } },
    {
      params: t.params, grads: t.grads, m: mu !== 0 ? t.m! : device.dummy, v: dummy2(device), hyper: state.buffer, gsq: c.gsq, derived: state.scratch,
      p: { n: t.params.size, beta1: mu, beta2: 0, eps: 0, weightDecay: hyper.weightDecay ?? 0, maxNorm: clip.maxNorm ?? 0 },
    },
    grid1d(device, t.params.size, WG),
  );
}

/**
 * ema ← decay·ema + (1 − decay)·params, in place on ema. `warmupFrom`: ramp the decay up with the
 * optimizer's step; `guardedBy`: skip the update when that optimizer's guard found the step non-finite.
 */
export function emaUpdate(ema: Tensor, params: Tensor, decay: number, opts: { warmupFrom?: OptimState; guardedBy?: OptimState } = {}): Tensor {
  const device = sameDevice('emaUpdate', ema, params);
  checkSizes('emaUpdate', params, { ema, params });
  if (!(decay >= 0 && decay <= 1)) throw new KernelError(`emaUpdate: decay must be in [0, 1], got ${decay}`);
  const st = opts.warmupFrom;
  device.run(
    { file: 'ema.wgsl', source: emaSource, entry: 'main', constants: { WG, WARMUP: st ? 1 : 0, GUARD: opts.guardedBy ? 1 : 0 } },
    { ema, params, p: { n: ema.size, decay }, state: st ? st.buffer : device.dummy, skip: opts.guardedBy ? opts.guardedBy.scratch : device.dummy },
    grid1d(device, ema.size, WG),
  );
  return ema;
}
