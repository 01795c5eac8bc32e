// 2-D convolution (NCHW) and its two gradients: the shapes are checked here, planConv2d
// (conv2d_plan.ts) chooses the algorithm — implicit GEMM (conv2d_implicit.ts), im2col + texture
// GEMM (conv2d_im2col.ts) or the direct kernel (conv2d_direct.ts) — and this file runs the plan,
// adding the epilogue terms a path does not fuse.
import { Tensor, sameDevice } from '../tensor.js';
import { ShapeError, KernelError, fmtShape } from '../../gpu/errors.js';
import { planConv2d, paddedGeometry, type ConvDims, type ConvPlan } from './conv2d_plan.js';
import { conv2dImplicitForward, runImplicitInput, runImplicitWeight } from './conv2d_implicit.js';
import { conv2dTexForward, conv2dTexBackwardInput, conv2dTexBackwardWeight } from './conv2d_im2col.js';
import { checkKernel, directWeightGrad, packWeights, rowConv, type Conv2dConfig } from './conv2d_direct.js';
import type { PackedInput, PaddedGeometry } from './packed.js';
import type { Device } from '../../gpu/device.js';
import { binary, unary } from './elementwise.js';

export interface ConvGeometry {
  stride?: number;
  padding?: number;
}

export interface Conv2dOptions extends ConvGeometry {
  bias?: Tensor;
  act?: 'none' | 'silu';
  /** Per-(image, channel) bias [B, Cout] (e.g. a noise-level embedding), added before the activation. */
  cbias?: Tensor;
  /** Residual [B, Cout, Ho, Wo], added after the activation. */
  residual?: Tensor;
  out?: Tensor;
  config?: Partial<Conv2dConfig>;
}

export function conv2dOutSize(h: number, k: number, stride: number, padding: number): number {
  return Math.floor((h + 2 * padding - k) / stride) + 1;
}

function geometry(g: ConvGeometry) {
  const s = g.stride ?? 1, p = g.padding ?? 0;
  if (!Number.isInteger(s) || s < 1 || !Number.isInteger(p) || p < 0) throw new ShapeError(`conv2d: bad stride ${s} / padding ${p}`);
  return { s, p };
}

/** A forward conv checked and planned, not yet run (conv2dPlanned; the fused ops read its plan). */
export interface PlannedConv {
  d: Device;
  dims: ConvDims;
  plan: ConvPlan;
  /** Output shape [B, Cout, Ho, Wo]. */
  shape: number[];
}

/** Check a forward conv of an input of shape xShape and plan its kernel (planConv2d). */
export function planConv2dForward(d: Device, xShape: readonly number[], w: Tensor, opts: Conv2dOptions = {}): PlannedConv {
  const { s, p } = geometry(opts);
  const both = `x ${fmtShape(xShape)} and w ${fmtShape(w.shape)}`;
  if (xShape.length !== 4 || w.rank !== 4) throw new ShapeError(`conv2d: need 4-D x [B, Cin, H, W] and w [Cout, Cin, kh, kw], got ${both}`);
  const [B, Cin, H, W] = xShape;
  const [Cout, Cin2, KH, KW] = w.shape;
  if (Cin !== Cin2) throw new ShapeError(`conv2d: input channels differ for ${both}`);
  const Ho = conv2dOutSize(H, KH, s, p), Wo = conv2dOutSize(W, KW, s, p);
  if (Ho < 1 || Wo < 1) throw new ShapeError(`conv2d: kernel larger than the padded input for ${both} (padding ${p})`);
  if (opts.bias && opts.bias.size !== Cout) throw new ShapeError(`conv2d: bias ${fmtShape(opts.bias.shape)} does not match Cout = ${Cout} of ${both}`);
  const shape = [B, Cout, Ho, Wo];
  if (opts.cbias && (opts.cbias.size !== B * Cout)) throw new ShapeError(`conv2d: cbias ${fmtShape(opts.cbias.shape)} is not [${B}, ${Cout}] for ${both}`);
  if (opts.residual && opts.residual.size !== B * Cout * Ho * Wo) throw new ShapeError(`conv2d: residual ${fmtShape(opts.residual.shape)} does not fit ${fmtShape(shape)} for ${both}`);
  const dims = { B, Cin, H, W, Cout, KH, KW, Ho, Wo, s, p };
  return { d, dims, plan: planConv2d(d, 'forward', dims, { config: opts.config }), shape };
}

/**
 * The padded geometry a planned forward reads its input texture in, when it takes the implicit
 * path: a producer fused with this conv writes that texture and passes it to conv2dPlanned.
 */
export function packedInputGeometry(c: PlannedConv): PaddedGeometry | null {
  const { plan, dims } = c;
  if (plan.algorithm !== 'implicit' || !('tile' in plan)) return null;
  return paddedGeometry({ Ho: dims.Ho, Wo: dims.Wo, KH: dims.KH, KW: dims.KW, stride: dims.s, pad: dims.p }, plan.tile);
}

/**
 * y = act(conv(x, w) + bias + cbias) + residual: x [B, Cin, H, W], w [Cout, Cin, kh, kw] →
 * [B, Cout, Ho, Wo]; cbias [B, Cout] broadcasts over pixels. The implicit-GEMM path fuses all of it
 * into the GEMM's epilogue; the other paths add cbias / residual with elementwise kernels.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const d = sameDevice('conv2d', x, w);
  if (x.rank !== 4) throw new ShapeError(`conv2d: need 4-D x [B, Cin, H, W] and w [Cout, Cin, kh, kw], got x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)}`);
  return conv2dPlanned(planConv2dForward(d, x.shape, w, opts), x, w, opts);
}

/**
 * Run a planned forward on x, or on x's texture in the geometry packedInputGeometry named (only
 * the implicit path reads one; a fused producer wrote it).
 */
export function conv2dPlanned(c: PlannedConv, x: Tensor | PackedInput, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const { d, dims, plan, shape } = c;
  const { B, Cout } = dims;
  const out = opts.out ?? Tensor.empty(d, shape);
  if (out.size !== shape.reduce((a, b) => a * b, 1)) throw new ShapeError(`conv2d: out ${fmtShape(out.shape)} does not fit ${fmtShape(shape)}`);
  const o = out.shape.length === 4 ? out : out.reshape(shape);
  if (out.size === 0) return out;
  const silu = opts.act === 'silu';
  d.policy.observe?.(plan);
  if (plan.algorithm === 'implicit' && 'tile' in plan) {
    // the epilogue fused whole
    conv2dImplicitForward(d, x, w, o, dims, { bias: opts.bias, silu, cbias: opts.cbias, res: opts.residual }, plan.tile);
    if (o !== out) o.dispose();
    return out;
  }
  if (!(x instanceof Tensor)) throw new KernelError(`conv2d: a packed input texture given to a conv (${fmtShape(shape)}) that does not take the implicit-GEMM path`);
  // Other paths: act goes after cbias, so it runs separately when there is one. Elementwise
  // kernels cannot write in place (a buffer may not be bound for reading and writing at once).
  const late = !!opts.cbias && silu;
  const steps: ((a: Tensor, into?: Tensor) => Tensor)[] = [];
  if (opts.cbias) steps.push((a, into) => binary('add', a, opts.cbias!.reshape([B, Cout, 1, 1]), 1, 1, into));
  if (late) steps.push((a, into) => unary('silu', a, 0, 0, into));
  if (opts.residual) steps.push((a, into) => binary('add', a, opts.residual!.reshape(shape), 1, 1, into));
  const target = steps.length ? Tensor.empty(d, shape) : o;
  if (plan.algorithm === 'im2col') conv2dTexForward(d, x, w, target, dims, opts.bias, silu && !late, plan.tile);
  else if (plan.algorithm === 'direct') {
    checkKernel('conv2d', dims.KH, dims.KW, plan.config.tp, dims.s);
    const { packed, C4 } = packWeights(w, false);
    rowConv(x, packed, Cout, C4, target, { KH: dims.KH, KW: dims.KW, STRIDE: dims.s, DIL: 1, pad: dims.p }, plan.config, opts.bias, silu && !late ? 'silu' : 'none');
    packed.dispose();
  }
  let cur = target;
  steps.forEach((f, i) => {
    const next = f(cur, i === steps.length - 1 ? o : undefined);
    cur.dispose();
    cur = next;
  });
  if (o !== out) o.dispose();
  return out;
}

type GradOptions = ConvGeometry & { config?: Partial<Conv2dConfig> };

/** Check the shapes of a conv's gradient: x [B, Cin, H, W], w [Cout, Cin, kh, kw], gy [B, Cout, Ho, Wo]. */
function gradDims(op: string, xShape: readonly number[], wShape: readonly number[], gyShape: readonly number[], opts: ConvGeometry, both: string): ConvDims {
  const { s, p } = geometry(opts);
  if (gyShape.length !== 4 || wShape.length !== 4 || xShape.length !== 4) throw new ShapeError(`${op}: need 4-D shapes, got ${both}`);
  const [B, Cout, Ho, Wo] = gyShape;
  const [Cout2, Cin, KH, KW] = wShape;
  const [B2, Cin2, H, W] = xShape;
  if (Cout !== Cout2 || Cin !== Cin2 || B !== B2 || conv2dOutSize(H, KH, s, p) !== Ho || conv2dOutSize(W, KW, s, p) !== Wo) {
    throw new ShapeError(`${op}: shapes do not match (stride ${s}, padding ${p}): ${both}`);
  }
  return { B, Cin, H, W, Cout, KH, KW, Ho, Wo, s, p };
}

/** Run the input gradient's plan; returns gy's texture when the implicit path kept one for the weight gradient. */
function runInputGrad(d: Device, gy: Tensor, w: Tensor, gx: Tensor, dims: ConvDims, opts: GradOptions): PackedInput | null {
  if (gx.size === 0) return null;
  const plan = planConv2d(d, 'input', dims, { config: opts.config });
  d.policy.observe?.(plan);
  if (plan.algorithm === 'implicit' && 'tile' in plan) return runImplicitInput(d, gy, w, gx, dims, plan.tile);
  if (plan.algorithm === 'im2col') {
    conv2dTexBackwardInput(d, gy, w, gx, dims, plan.tile);
    return null;
  }
  const cfg = (plan as { config: Conv2dConfig }).config;
  const { KH, KW, s, p } = dims;
  checkKernel('conv2dBackwardInput', KH, KW, cfg.tp, 1);
  const { packed, C4 } = packWeights(w, true);
  // Stride-1 convolution of the s-dilated gy, padded by KW−1−p, with flipped weights.
  if (KH !== KW) throw new ShapeError(`conv2dBackwardInput: square kernels only, got ${fmtShape(w.shape)}`);
  rowConv(gy, packed, dims.Cin, C4, gx, { KH, KW, STRIDE: 1, DIL: s, pad: KH - 1 - p }, cfg, undefined, 'none');
  packed.dispose();
  return null;
}

/** Run the weight gradient's plan (gy from `gyPacked`, the input gradient's texture, where the plan can read it). */
function runWeightGrad(d: Device, x: Tensor, gy: Tensor, wShape: readonly number[], dims: ConvDims, opts: GradOptions, gyPacked: PackedInput | null): Tensor {
  const plan = planConv2d(d, 'weight', dims, { config: opts.config, gyPacked: gyPacked?.geometry ?? null });
  d.policy.observe?.(plan);
  if (plan.algorithm === 'implicit' && 'weightGrad' in plan) return runImplicitWeight(d, x, gy, dims, plan.weightGrad, gyPacked);
  const gw = Tensor.empty(d, wShape);
  if (gw.size === 0) return gw;
  if (plan.algorithm === 'im2col') conv2dTexBackwardWeight(d, x, gy, gw, dims, plan.tile);
  else directWeightGrad(x, gy, gw, dims, (plan as { config: Conv2dConfig }).config);
  return gw;
}

/** Gradient of conv2d w.r.t. x: gy [B, Cout, Ho, Wo], w [Cout, Cin, kh, kw] → [B, Cin, H, W] (= xShape). */
export function conv2dBackwardInput(gy: Tensor, w: Tensor, xShape: readonly number[], opts: GradOptions = {}): Tensor {
  const d = sameDevice('conv2dBackwardInput', gy, w);
  const dims = gradDims('conv2dBackwardInput', xShape, w.shape, gy.shape, opts, `gy ${fmtShape(gy.shape)} and w ${fmtShape(w.shape)} for x ${fmtShape(xShape)}`);
  const gx = Tensor.empty(d, xShape);
  runInputGrad(d, gy, w, gx, dims, opts);
  return gx;
}

/** Gradient of conv2d w.r.t. w: x [B, Cin, H, W], gy [B, Cout, Ho, Wo] → [Cout, Cin, kh, kw] (= wShape). */
export function conv2dBackwardWeight(x: Tensor, gy: Tensor, wShape: readonly number[], opts: GradOptions = {}): Tensor {
  const d = sameDevice('conv2dBackwardWeight', x, gy);
  const dims = gradDims('conv2dBackwardWeight', x.shape, wShape, gy.shape, opts, `x ${fmtShape(x.shape)} and gy ${fmtShape(gy.shape)} for w ${fmtShape(wShape)}`);
  return runWeightGrad(d, x, gy, wShape, dims, opts, null);
}

/**
 * Both gradients of a conv (either may be skipped), as its backward needs them: the input gradient
 * first, then the weight gradient, which reads gy from the padded texture the input gradient
 * packed when both take the implicit path (one packing pass of gy instead of two).
 */
export function conv2dBackward(x: Tensor, gy: Tensor, w: Tensor, opts: GradOptions & { input?: boolean; weight?: boolean } = {}): { gx: Tensor | null; gw: Tensor | null } {
  const d = sameDevice('conv2dBackward', x, gy, w);
  const both = `x ${fmtShape(x.shape)}, w ${fmtShape(w.shape)} and gy ${fmtShape(gy.shape)}`;
  const dims = gradDims('conv2dBackward', x.shape, w.shape, gy.shape, opts, both);
  let gx: Tensor | null = null, kept: PackedInput | null = null;
  if (opts.input ?? true) {
    gx = Tensor.empty(d, x.shape);
    kept = runInputGrad(d, gy, w, gx, dims, opts);
  }
  const gw = (opts.weight ?? true) ? runWeightGrad(d, x, gy, w.shape, dims, opts, kept) : null;
  return { gx, gw };
}
