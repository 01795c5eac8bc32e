// The direct convolution (shaders/conv2d.wgsl) over storage buffers, for any adapter: a
// register-blocked row kernel over pre-packed weights; the input gradient runs the same kernel as a
// stride-1 convolution over the stride-dilated output gradient with flipped weights; the weight
// gradient has its own entry. The configuration (pixels and channel groups per invocation,
// workgroup size) is a plain value that conv2d_plan.ts chooses.
import source from '../../../shaders/conv2d.wgsl';
import { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { grid1d } from '../dispatch.js';
import { ShapeError } from '../../gpu/errors.js';

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

export function defaultConv2dConfig(device: Device, q: { C: number; Wo: number }): Conv2dConfig {
  const tp = q.Wo >= 8 ? 8 : 4;
  const tc4 = q.C > 4 ? 2 : 1;
  return { tp, tc4, wg: device.caps.cpu ? 8 : 64 };
}

export function checkKernel(what: string, KH: number, KW: number, tp: number, stride: number) {
  if (KH * KW > MAX_TAPS) throw new ShapeError(`${what}: kernel ${KH}×${KW} over the supported ${MAX_TAPS} taps`);
  if ((tp - 1) * stride + KW > SEG_MAX) throw new ShapeError(`${what}: row segment (tp ${tp}, stride ${stride}, kw ${KW}) over ${SEG_MAX}`);
}

/** Pack w [Cout, Cin, KH, KW] as [R, KH, KW, C4] (forward: R = Cin, C = Cout; flip: R = Cout, C = Cin, taps flipped). */
export function packWeights(w: Tensor, flip: boolean): { packed: Tensor; C4: number } {
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
export function rowConv(
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

/** Weight gradient by the direct kernel's 'wgrad' entry: gw [Cout, Cin, KH, KW] from x and gy. */
export function directWeightGrad(
  x: Tensor, gy: Tensor, gw: Tensor, c: { B: number; Cin: number; H: number; W: number; Cout: number; KH: number; KW: number; Ho: number; Wo: number; s: number; p: number }, cfg: { tp: number; wg: number },
): void {
  const d = x.device;
  checkKernel('conv2dBackwardWeight', c.KH, c.KW, cfg.tp, c.s);
  d.run(
    { file: FILE, source, entry: 'wgrad', constants: { KH: c.KH, KW: c.KW, STRIDE: c.s, TP: cfg.tp, WG: cfg.wg } },
    { x, w: d.dummy, bias: d.dummy, out: gw, wraw: gy, p: params({ B: c.B, R: c.Cin, Hi: c.H, Wi: c.W, C: c.Cout, Ho: c.Ho, Wo: c.Wo, pad: c.p }) },
    [Math.ceil(c.Cin / cfg.wg), Math.ceil(c.Cout / 4), 1],
  );
}
