// conv2d and its two gradients as GEMMs on the texture GEMM (matmul_tex.ts), for CPU adapters:
// the input (or gradient) is unfolded straight into the A or B texture by tex_pack.wgsl's im2col,
// the weights are packed (transposed or flipped), and one matmul_tex.wgsl dispatch does the rest.
//   forward         C[(img, pix), co]      = im2col(x)[(img, pix), (ci, ky, kx)] · wᵀ
//   input gradient  C[(img, pix), ci]      = im2col(s-dilated gy, pad k−1−p)[(img, pix), (co, ky, kx)] · wflip
//   weight gradient C[co, (ci, ky, kx)]    = gyᵀ[co, (img, pix)] · im2col(x)[(img, pix), (ci, ky, kx)]
// The forward and input-gradient outputs are scattered back to NCHW by the GEMM's OUT_MODE 1.
import type { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { gemmTex, packTexture, texGemmFits, texGeometry, type TexTile } from './matmul_tex.js';
import { isCpuAdapter, subgroupsUsable } from './matmul.js';

/** 'auto': use the texture path where convTexWorthwhile says so; tests force 'always' / 'never'. */
export const convTexMode: { mode: 'auto' | 'always' | 'never' } = { mode: 'auto' };

/** Tile for a GEMM with N output columns: 8-lane workgroups cover 8·tn columns. */
function tileFor(N: number): TexTile {
  return N <= 32 ? { tm: 16, tn: 4, explicit: true } : { tm: 16, tn: 8, explicit: true };
}

/**
 * CPU adapters with subgroups (any adapter with subgroups when forced). The im2col pass reads
 * every input element KH·KW times through storage-buffer loads (slow on lavapipe: at B8 28×28
 * 32→32 it took longer than the GEMM itself), so the path pays off only when many output channels
 * share it and the old row kernel is weak: measured on lavapipe (B8, 3×3 p1) the texture path won
 * ×3 at 7×7 128→128, tied or won at 14×14 64→64, and lost at 28×28 32→32 and 32×32 64→64.
 * `channels`: the GEMM side the packed input is shared across (Cout, or Cin for the input
 * gradient); `hw`: output pixels per image.
 */
export function convTexWorthwhile(d: Device, M: number, N: number, K: number, channels: number, hw: number, maxHw = 256): boolean {
  if (convTexMode.mode === 'never' || !subgroupsUsable(d)) return false;
  if (convTexMode.mode === 'always') return true;
  return isCpuAdapter(d) && channels >= 64 && hw <= maxHw && Math.min(M, N) >= 16 && K >= 16 && M * N * K >= 1 << 22;
}

export interface ConvDims {
  B: number;
  Cin: number;
  H: number;
  W: number;
  Cout: number;
  KH: number;
  KW: number;
  Ho: number;
  Wo: number;
  s: number;
  p: number;
}

/** Forward: out [B, Cout, Ho, Wo] = act(conv(x, w) + bias). Returns false when it cannot run. */
export function conv2dTexForward(d: Device, x: Tensor, w: Tensor, out: Tensor, c: ConvDims, bias: Tensor | undefined, silu: boolean): boolean {
  const M = c.B * c.Ho * c.Wo, K = c.Cin * c.KH * c.KW, N = c.Cout;
  const tile = tileFor(N);
  const g = { M, N, K, batch: 1, tile };
  if (!convTexWorthwhile(d, M, N, K, c.Cout, c.Ho * c.Wo) || !texGemmFits(d, g, 1, 1)) return false;
  const t = texGeometry(g);
  const va = packTexture(d, 'im2col', x, 'A', {
    R: M, C: K, Rp: t.Mp, C4p: t.K4, Cin: c.Cin, Hi: c.H, Wi: c.W, Ho: c.Ho, Wo: c.Wo, pad: c.p, KH: c.KH, KW: c.KW, STRIDE: c.s, DIL: 1,
  });
  const vb = packTexture(d, 'pack', w, 'B', { R: K, C: N, Rp: t.Kp, C4p: t.N4p, trans: true });
  gemmTex(d, va, vb, out, { ...g, ta: 0, tb: 0, bias, act: silu ? 1 : 0, outMode: 1, hw: c.Ho * c.Wo });
  return true;
}

/** Input gradient: gx [B, Cin, H, W] from gy [B, Cout, Ho, Wo] (square kernels). */
export function conv2dTexBackwardInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims): boolean {
  const M = c.B * c.H * c.W, K = c.Cout * c.KH * c.KW, N = c.Cin;
  const tile = tileFor(N);
  const g = { M, N, K, batch: 1, tile };
  if (!convTexWorthwhile(d, M, N, K, c.Cin, c.H * c.W) || !texGemmFits(d, g, 1, 1)) return false;
  const t = texGeometry(g);
  const va = packTexture(d, 'im2col', gy, 'A', {
    R: M, C: K, Rp: t.Mp, C4p: t.K4, Cin: c.Cout, Hi: c.Ho, Wi: c.Wo, Ho: c.H, Wo: c.W, pad: c.KH - 1 - c.p, KH: c.KH, KW: c.KW, STRIDE: 1, DIL: c.s,
  });
  const vb = packTexture(d, 'wflip', w, 'B', { R: K, C: N, Rp: t.Kp, C4p: t.N4p, Cin: c.Cin, KH: c.KH, KW: c.KW });
  gemmTex(d, va, vb, gx, { ...g, ta: 0, tb: 0, outMode: 1, hw: c.H * c.W });
  return true;
}

/** Weight gradient: gw [Cout, Cin, KH, KW] from x [B, Cin, H, W] and gy [B, Cout, Ho, Wo]. */
export function conv2dTexBackwardWeight(d: Device, x: Tensor, gy: Tensor, gw: Tensor, c: ConvDims): boolean {
  const M = c.Cout, K = c.B * c.Ho * c.Wo, N = c.Cin * c.KH * c.KW;
  const tile = tileFor(N);
  const g = { M, N, K, batch: 1, tile };
  // Weight gradient: won ×1.6–2 at 7×7 128→128 but lost slightly at B64 14×14 64→64.
  if (!convTexWorthwhile(d, M, N, K, c.Cout, c.Ho * c.Wo, 64) || !texGemmFits(d, g, 1, 1)) return false;
  const t = texGeometry(g);
  const va = packTexture(d, 'nchw_t', gy, 'A', { R: M, C: K, Rp: t.Mp, C4p: t.K4, Wo: c.Ho * c.Wo });
  const vb = packTexture(d, 'im2col', x, 'B', {
    R: K, C: N, Rp: t.Kp, C4p: t.N4p, Cin: c.Cin, Hi: c.H, Wi: c.W, Ho: c.Ho, Wo: c.Wo, pad: c.p, KH: c.KH, KW: c.KW, STRIDE: c.s, DIL: 1,
  });
  gemmTex(d, va, vb, gw, { ...g, ta: 0, tb: 0, outMode: 0 });
  return true;
}
