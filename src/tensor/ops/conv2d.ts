// 2-D convolution (NCHW) and its two gradients (shaders/conv2d.wgsl): a register-blocked direct
// convolution over pre-packed weights; the input gradient runs the same kernel as a stride-1
// convolution over the stride-dilated output gradient with flipped weights. Kernel configuration
// (pixels and channel groups per invocation, workgroup size) is a plain value for autotuning.
import source from '../../../shaders/conv2d.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, KernelError, fmtShape } from '../../gpu/errors.js';
import { conv2dTexForward, conv2dTexBackwardInput, conv2dTexBackwardWeight, conv2dImplicitForward, conv2dImplicitBackwardInput, conv2dImplicitBackwardWeight } from './conv2d_tex.js';
import { isPackOnly } from './packed.js';
import { binary, unary } from './elementwise.js';

const FILE = 'conv2d.wgsl';
const SEG_MAX = 32;
const MAX_TAPS = 16;

export interface Conv2dConfig {
  /** Output pixels along a row per invocation (1..8). */
  tp: number;
  /** Groups of 4 output channels per invocation (1..4, with tp·tc4 ≤ 16). */
  tc4: number;
  /** Invocations per workgroup. */
  wg: number;
}

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

export function defaultConv2dConfig(device: Device, q: { C: number; Wo: number }): Conv2dConfig {
  const tp = q.Wo >= 8 ? 8 : 4;
  const tc4 = q.C > 4 ? 2 : 1;
  return { tp, tc4, wg: device.caps.cpu ? 8 : 64 };
}

export function conv2dOutSize(h: number, k: number, stride: number, padding: number): number {
  return Math.floor((h + 2 * padding - k) / stride) + 1;
}

function geometry(g: ConvGeometry) {
  const s = g.stride ?? 1, p = g.padding ?? 0;
  if (!Number.isInteger(s) || s < 1 || !Number.isInteger(p) || p < 0) throw new ShapeError(`conv2d: bad stride ${s} / padding ${p}`);
  return { s, p };
}

function checkKernel(what: string, KH: number, KW: number, tp: number, stride: number) {
  if (KH * KW > MAX_TAPS) throw new ShapeError(`${what}: kernel ${KH}×${KW} over the supported ${MAX_TAPS} taps`);
  if ((tp - 1) * stride + KW > SEG_MAX) throw new ShapeError(`${what}: row segment (tp ${tp}, stride ${stride}, kw ${KW}) over ${SEG_MAX}`);
}

/** Pack w [Cout, Cin, KH, KW] as [R, KH, KW, C4] (forward: R = Cin, C = Cout; flip: R = Cout, C = Cin, taps flipped). */
function packWeights(w: Tensor, flip: boolean): { packed: Tensor; C4: number } {
  const d = w.device;
  const [Cout, Cin, KH, KW] = w.shape;
  const R = flip ? Cout : Cin, C = flip ? Cin : Cout;
  const C4 = Math.ceil(C / 4) * 4;
  const n = R * KH * KW * C4;
  const packed = Tensor.empty(d, [R, KH, KW, C4], 'conv2d packed weights');
  d.run(
    { file: FILE, source, entry: 'pack', constants: { KH, KW } },
    { x: d.dummy, w: d.dummy, bias: d.dummy, out: packed, wraw: w, p: params({ R, C, C4, flip: flip ? 1 : 0, n }) },
    grid1d(d, n, 64),
  );
  return { packed, C4 };
}

function params(v: Partial<Record<string, number>>) {
  return { B: 0, R: 0, Hi: 0, Wi: 0, C: 0, C4: 0, Ho: 0, Wo: 0, pad: 0, tilesX: 0, flip: 0, n: 0, ...v } as Record<string, number>;
}

/** Run the row-conv kernel: out[B, C, Ho, Wo] from input [B, R, Hi, Wi] and packed weights. */
function rowConv(
  x: Tensor, packed: Tensor, C: number, C4: number, out: Tensor,
  k: { KH: number; KW: number; STRIDE: number; DIL: number; pad: number },
  cfg: Conv2dConfig, bias: Tensor | undefined, act: 'none' | 'silu',
) {
  const d = x.device;
  const [B, R, Hi, Wi] = x.shape;
  const [, , Ho, Wo] = out.shape;
  const tilesX = Math.ceil(Wo / cfg.tp);
  const tc4 = Math.min(cfg.tc4, C4 / 4);
  d.run(
    {
      file: FILE, source, entry: 'main',
      constants: { KH: k.KH, KW: k.KW, STRIDE: k.STRIDE, DIL: k.DIL, TP: cfg.tp, TC4: tc4, WG: cfg.wg, HAS_BIAS: bias ? 1 : 0, ACT: act === 'silu' ? 1 : 0 },
    },
    { x, w: packed, bias: bias ?? d.dummy, out, wraw: d.dummy, p: params({ B, R, Hi, Wi, C, C4, Ho, Wo, pad: k.pad, tilesX }) },
    [...grid1d(d, B * Ho * tilesX, cfg.wg), Math.ceil(C / (4 * tc4))] as [number, number, number],
  );
}

/**
 * y = act(conv(x, w) + bias + cbias) + residual: x [B, Cin, H, W], w [Cout, Cin, kh, kw] →
 * [B, Cout, Ho, Wo]; cbias [B, Cout] broadcasts over pixels. The implicit-GEMM path fuses all of it
 * into the GEMM's epilogue; the other paths add cbias / residual with elementwise kernels.
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  const d = sameDevice('conv2d', x, w);
  const { s, p } = geometry(opts);
  const both = `x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)}`;
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(`conv2d: need 4-D x [B, Cin, H, W] and w [Cout, Cin, kh, kw], got ${both}`);
  const [B, Cin, H, W] = x.shape;
  const [Cout, Cin2, KH, KW] = w.shape;
  if (Cin !== Cin2) throw new ShapeError(`conv2d: input channels differ for ${both}`);
  const Ho = conv2dOutSize(H, KH, s, p), Wo = conv2dOutSize(W, KW, s, p);
  if (Ho < 1 || Wo < 1) throw new ShapeError(`conv2d: kernel larger than the padded input for ${both} (padding ${p})`);
  if (opts.bias && opts.bias.size !== Cout) throw new ShapeError(`conv2d: bias ${fmtShape(opts.bias.shape)} does not match Cout = ${Cout} of ${both}`);
  const shape = [B, Cout, Ho, Wo];
  if (opts.cbias && (opts.cbias.size !== B * Cout)) throw new ShapeError(`conv2d: cbias ${fmtShape(opts.cbias.shape)} is not [${B}, ${Cout}] for ${both}`);
  if (opts.residual && opts.residual.size !== B * Cout * Ho * Wo) throw new ShapeError(`conv2d: residual ${fmtShape(opts.residual.shape)} does not fit ${fmtShape(shape)} for ${both}`);
  const out = opts.out ?? Tensor.empty(d, shape);
  if (out.size !== B * Cout * Ho * Wo) throw new ShapeError(`conv2d: out ${fmtShape(out.shape)} does not fit ${fmtShape(shape)}`);
  const o = out.shape.length === 4 ? out : out.reshape(shape);
  if (out.size === 0) return out;
  const dims = { B, Cin, H, W, Cout, KH, KW, Ho, Wo, s, p };
  const silu = opts.act === 'silu';
  // CPU adapters: implicit GEMM from a padded NHWC4 texture, epilogue fused (conv2d_tex.ts).
  if (conv2dImplicitForward(d, x, w, o, dims, { bias: opts.bias, silu, cbias: opts.cbias, res: opts.residual })) {
    if (o !== out) o.dispose();
    return out;
  }
  if (isPackOnly(x)) throw new KernelError(`conv2d: input ${fmtShape(x.shape)} exists only as a packed texture (GroupNorm packOnly), but this conv (${both}) does not take the implicit-GEMM path that reads it`);
  // Other paths: act goes after cbias, so it runs separately when there is one. Elementwise
  // kernels cannot write in place (a buffer may not be bound for reading and writing at once).
  const late = !!opts.cbias && silu;
  const steps: ((a: Tensor, into?: Tensor) => Tensor)[] = [];
  if (opts.cbias) steps.push((a, into) => binary('add', a, opts.cbias!.reshape([B, Cout, 1, 1]), 1, 1, into));
  if (late) steps.push((a, into) => unary('silu', a, 0, 0, into));
  if (opts.residual) steps.push((a, into) => binary('add', a, opts.residual!.reshape(shape), 1, 1, into));
  const target = steps.length ? Tensor.empty(d, shape) : o;
  // CPU adapters: im2col into a texture + the texture GEMM (conv2d_tex.ts) when large enough.
  if (!conv2dTexForward(d, x, w, target, dims, opts.bias, silu && !late)) {
    const cfg = { ...defaultConv2dConfig(d, { C: Cout, Wo }), ...opts.config };
    checkKernel('conv2d', KH, KW, cfg.tp, s);
    const { packed, C4 } = packWeights(w, false);
    rowConv(x, packed, Cout, C4, target, { KH, KW, STRIDE: s, DIL: 1, pad: p }, cfg, opts.bias, silu && !late ? 'silu' : 'none');
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

/** Gradient of conv2d w.r.t. x: gy [B, Cout, Ho, Wo], w [Cout, Cin, kh, kw] → [B, Cin, H, W] (= xShape). */
export function conv2dBackwardInput(gy: Tensor, w: Tensor, xShape: readonly number[], opts: ConvGeometry & { config?: Partial<Conv2dConfig> } = {}): Tensor {
  const d = sameDevice('conv2dBackwardInput', gy, w);
  const { s, p } = geometry(opts);
  const both = `gy ${fmtShape(gy.shape)} and w ${fmtShape(w.shape)} for x ${fmtShape(xShape)}`;
  if (gy.rank !== 4 || w.rank !== 4 || xShape.length !== 4) throw new ShapeError(`conv2dBackwardInput: need 4-D shapes, got ${both}`);
  const [B, Cout, Ho, Wo] = gy.shape;
  const [Cout2, Cin, KH, KW] = w.shape;
  const [B2, Cin2, H, W] = xShape;
  if (Cout !== Cout2 || Cin !== Cin2 || B !== B2 || conv2dOutSize(H, KH, s, p) !== Ho || conv2dOutSize(W, KW, s, p) !== Wo) {
    throw new ShapeError(`conv2dBackwardInput: shapes do not match (stride ${s}, padding ${p}): ${both}`);
  }
  const gx = Tensor.empty(d, xShape);
  if (gx.size === 0) return gx;
  const dims = { B, Cin, H, W, Cout, KH, KW, Ho, Wo, s, p };
  if (KH === KW && conv2dImplicitBackwardInput(d, gy, w, gx, dims)) return gx;
  if (KH === KW && conv2dTexBackwardInput(d, gy, w, gx, dims)) return gx;
  const cfg = { ...defaultConv2dConfig(d, { C: Cin, Wo: W }), ...opts.config };
  checkKernel('conv2dBackwardInput', KH, KW, cfg.tp, 1);
  const { packed, C4 } = packWeights(w, true);
  // Stride-1 convolution of the s-dilated gy, padded by KW−1−p, with flipped weights.
  if (KH !== KW) throw new ShapeError(`conv2dBackwardInput: square kernels only, got ${fmtShape(w.shape)}`);
  rowConv(gy, packed, Cin, C4, gx, { KH, KW, STRIDE: 1, DIL: s, pad: KH - 1 - p }, cfg, undefined, 'none');
  packed.dispose();
  return gx;
}

/** Gradient of conv2d w.r.t. w: x [B, Cin, H, W], gy [B, Cout, Ho, Wo] → [Cout, Cin, kh, kw] (= wShape). */
export function conv2dBackwardWeight(x: Tensor, gy: Tensor, wShape: readonly number[], opts: ConvGeometry & { config?: Partial<Conv2dConfig> } = {}): Tensor {
  const d = sameDevice('conv2dBackwardWeight', x, gy);
  const { s, p } = geometry(opts);
  const both = `x ${fmtShape(x.shape)} and gy ${fmtShape(gy.shape)} for w ${fmtShape(wShape)}`;
  if (x.rank !== 4 || gy.rank !== 4 || wShape.length !== 4) throw new ShapeError(`conv2dBackwardWeight: need 4-D shapes, got ${both}`);
  const [B, Cin, H, W] = x.shape;
  const [B2, Cout, Ho, Wo] = gy.shape;
  const [Cout2, Cin2, KH, KW] = wShape;
  if (Cout !== Cout2 || Cin !== Cin2 || B !== B2 || conv2dOutSize(H, KH, s, p) !== Ho || conv2dOutSize(W, KW, s, p) !== Wo) {
    throw new ShapeError(`conv2dBackwardWeight: shapes do not match (stride ${s}, padding ${p}): ${both}`);
  }
  const dims = { B, Cin, H, W, Cout, KH, KW, Ho, Wo, s, p };
  if (B * Cin * Cout * H * W > 0) {
    const gi = conv2dImplicitBackwardWeight(d, x, gy, dims);
    if (gi) return gi;
  }
  const gw = Tensor.empty(d, wShape);
  if (gw.size === 0) return gw;
  if (conv2dTexBackwardWeight(d, x, gy, gw, dims)) return gw;
  const tp = opts.config?.tp ?? 4;
  const wg = opts.config?.wg ?? (d.caps.cpu ? 8 : 64);
  checkKernel('conv2dBackwardWeight', KH, KW, tp, s);
  d.run(
    { file: FILE, source, entry: 'wgrad', constants: { KH, KW, STRIDE: s, TP: tp, WG: wg } },
    { x, w: d.dummy, bias: d.dummy, out: gw, wraw: gy, p: params({ B, R: Cin, Hi: H, Wi: W, C: Cout, Ho, Wo, pad: p }) },
    [Math.ceil(Cin / wg), Math.ceil(Cout / 4), 1],
  );
  return gw;
}
