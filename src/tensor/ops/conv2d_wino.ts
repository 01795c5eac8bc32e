// 3×3 stride-1 convolutions by Winograd F(2×2, 3×3) on CPU adapters (shaders/conv2d_wino.wgsl):
// 16 multiplies per 2×2 output tile and channel pair instead of 36. The input is packed as the
// implicit GEMM's padded NHWC4 texture (conv2d_tex.ts), the filters as U = G g Gᵀ ('wwino'), and
// one fused kernel transforms the patches, accumulates over channels and applies Aᵀ · A and the
// epilogue. The input gradient of a stride-1 conv is the same kernel over gy with the filters
// flipped and transposed (padding k − 1 − p = 1).
import winoSource from '../../../shaders/conv2d_wino.wgsl';
import winuSource from '../../../shaders/conv2d_winu.wgsl';
import weightsSource from '../../../shaders/wino_weights.wgsl';
import { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { packTexture, maxTexels } from './matmul_tex.js';
import { isCpuAdapter, subgroupsUsable } from './matmul.js';
import { packPadded, type ConvDims, type ConvEpilogue } from './conv2d_tex.js';

/** 'auto': where winogradWorthwhile says so; tests and benchmarks force 'always' / 'never'. */
export const convWinogradMode: { mode: 'auto' | 'always' | 'never' } = { mode: 'auto' };

/** Tiles per workgroup (generated entries: scripts/gen-conv2d-wino.mjs). */
export type WinoTiles = 8 | 16 | 'u1x4' | 'u1x8' | 'u2x4';

/** Only 3×3 kernels at stride 1 with padding 1 (the U-Net's convs) take this path. */
export function winogradApplies(c: ConvDims): boolean {
  return c.KH === 3 && c.KW === 3 && c.s === 1 && c.p === 1;
}

function worthwhile(d: Device, tiles: number, N: number, Rc: number): boolean {
  if (convWinogradMode.mode === 'never' || !subgroupsUsable(d)) return false;
  if (convWinogradMode.mode === 'always') return true;
  return isCpuAdapter(d) && N >= 16 && Rc >= 8 && tiles * N * Rc >= 1 << 16;
}

interface WinoConv {
  /** Source [B, Rc, H, W]; output [B, N, H, W] (stride 1, padding 1). */
  B: number; Rc: number; H: number; W: number; N: number;
  /** false: w is [N, Rc, 3, 3]; true: w is [Rc, N, 3, 3] used flipped (input gradient). */
  flip: boolean;
}

function run(d: Device, src: Tensor, w: Tensor, out: Tensor, q: WinoConv, epi: ConvEpilogue, T?: WinoTiles): boolean {
  const TH = Math.ceil(q.H / 2), TW = Math.ceil(q.W / 2);
  const M = q.B * TH * TW;
  if (!worthwhile(d, M, q.N, q.Rc)) return false;
  const variant = T ?? 8;
  const C4 = Math.ceil(q.Rc / 4);
  const Hp = 2 * TH + 2, Wp = 2 * TW + 2;
  const epiConsts = { LOG_TW: 12, HAS_BIAS: epi.bias ? 1 : 0, HAS_CBIAS: epi.cbias ? 1 : 0, HAS_RES: epi.res ? 1 : 0, ACT: epi.silu ? 1 : 0 };
  if (typeof variant === 'string') {
    const [S, NQ] = variant.slice(1).split('x').map(Number);
    const N4p = Math.ceil(q.N / (4 * NQ)) * NQ;
    const u = Tensor.empty(d, [C4 * 64 * N4p * 4], 'winograd filters');
    const total = C4 * 64 * N4p;
    const wgs = Math.ceil(total / 64);
    const gx = Math.min(wgs, d.limits.maxComputeWorkgroupsPerDimension);
    d.run({ file: 'wino_weights.wgsl', source: weightsSource, entry: 'main', constants: { FLIP: q.flip ? 1 : 0 } }, { w, u, p: { C4, N4p, Rc: q.Rc, N: q.N } }, [gx, Math.ceil(wgs / gx), 1]);
    const va = packPadded(d, src, 'CA', { B: q.B, Rc: q.Rc, Hi: q.H, Wi: q.W, Hp, Wp, pad: 1, dil: 1 });
    d.run(
      { file: 'conv2d_winu.wgsl', source: winuSource, entry: `win${variant}`, constants: epiConsts },
      {
        ta: va, u, bias: epi.bias ?? d.dummy, cbias: epi.cbias ?? d.dummy, res: epi.res ?? d.dummy, out,
        p: { M, N: q.N, C4, N4p, TW, thw: TH * TW, Wp, Hp, Ho: q.H, Wo: q.W },
      },
      [N4p / NQ, Math.ceil(M / (8 * S)), 1],
    );
    u.dispose();
    return true;
  }
  const tiles = variant;
  const N4p = Math.ceil(q.N / 32) * 8;
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const aTexels = q.B * Hp * Wp * C4, bTexels = C4 * 64 * N4p;
  if (aTexels > maxTexels(d) || bTexels > maxTexels(d) || Math.ceil(M / tiles) > maxWg || Math.ceil(Math.max(aTexels, bTexels) / 64) > maxWg * maxWg) return false;
  const va = packPadded(d, src, 'CA', { B: q.B, Rc: q.Rc, Hi: q.H, Wi: q.W, Hp, Wp, pad: 1, dil: 1 });
  const vb = packTexture(d, 'wwino', w, 'CB', { R: C4 * 64, C: q.N, Rp: C4 * 64, C4p: N4p, Cin: q.Rc, trans: q.flip });
  d.run(
    {
      file: 'conv2d_wino.wgsl', source: winoSource, entry: `wino${tiles}`,
      constants: epiConsts,
    },
    {
      ta: va, tb: vb, bias: epi.bias ?? d.dummy, cbias: epi.cbias ?? d.dummy, res: epi.res ?? d.dummy, out,
      p: { M, N: q.N, C4, N4p, TW, thw: TH * TW, Wp, Hp, Ho: q.H, Wo: q.W },
    },
    [N4p / 8, Math.ceil(M / tiles), 1],
  );
  return true;
}

/** Forward: out = act(conv(x, w) + bias + cbias) + res for 3×3, stride 1, padding 1. False when it cannot run. */
export function conv2dWinogradForward(d: Device, x: Tensor, w: Tensor, out: Tensor, c: ConvDims, epi: ConvEpilogue, T?: WinoTiles): boolean {
  if (!winogradApplies(c)) return false;
  return run(d, x, w, out, { B: c.B, Rc: c.Cin, H: c.H, W: c.W, N: c.Cout, flip: false }, epi, T);
}

/** Input gradient gx [B, Cin, H, W] from gy [B, Cout, H, W] for 3×3, stride 1, padding 1. */
export function conv2dWinogradBackwardInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims, T?: WinoTiles): boolean {
  if (!winogradApplies(c)) return false;
  return run(d, gy, w, gx, { B: c.B, Rc: c.Cout, H: c.H, W: c.W, N: c.Cin, flip: true }, {}, T);
}
