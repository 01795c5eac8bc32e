// conv2d and its two gradients as GEMMs on the texture GEMM (matmul_tex.ts), for CPU adapters:
// the input (or gradient) is unfolded straight into the A or B texture by tex_pack.wgsl's im2col,
// the weights are packed (transposed or flipped), and one matmul_tex.wgsl dispatch does the rest.
//   forward         C[(img, pix), co]      = im2col(x)[(img, pix), (ci, ky, kx)] · wᵀ
//   input gradient  C[(img, pix), ci]      = im2col(s-dilated gy, pad k−1−p)[(img, pix), (co, ky, kx)] · wflip
//   weight gradient C[co, (ci, ky, kx)]    = gyᵀ[co, (img, pix)] · im2col(x)[(img, pix), (ci, ky, kx)]
// The forward and input-gradient outputs are scattered back to NCHW by the GEMM's OUT_MODE 1.
// Whether this path runs, and its tile, is conv2d_plan.ts's choice (planIm2col).
import type { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { gemmTex, texGeometry, type TexTile } from './matmul_tex.js';
import { packTexture } from './tex_pack.js';
import type { ConvDims } from './conv2d_plan.js';

/** Forward: out [B, Cout, Ho, Wo] = act(conv(x, w) + bias). With the tile planIm2col chose. */
export function conv2dTexForward(d: Device, x: Tensor, w: Tensor, out: Tensor, c: ConvDims, bias: Tensor | undefined, silu: boolean, tile: TexTile): void {
  const M = c.B * c.Ho * c.Wo, K = c.Cin * c.KH * c.KW, N = c.Cout;
  const g = { M, N, K, batch: 1, tile };
  const t = texGeometry(g);
  const va = packTexture(d, 'im2col', x, 'A', {
    R: M, C: K, Rp: t.Mp, C4p: t.K4, Cin: c.Cin, Hi: c.H, Wi: c.W, Ho: c.Ho, Wo: c.Wo, pad: c.p, KH: c.KH, KW: c.KW, STRIDE: c.s, DIL: 1,
  });
  const vb = packTexture(d, 'pack', w, 'B', { R: K, C: N, Rp: t.Kp, C4p: t.N4p, trans: true });
  gemmTex(d, va, vb, out, { ...g, ta: 0, tb: 0, bias, act: silu ? 1 : 0, outMode: 1, hw: c.Ho * c.Wo });
}

/** Input gradient: gx [B, Cin, H, W] from gy [B, Cout, Ho, Wo] (square kernels). */
export function conv2dTexBackwardInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims, tile: TexTile): void {
  const M = c.B * c.H * c.W, K = c.Cout * c.KH * c.KW, N = c.Cin;
  const g = { M, N, K, batch: 1, tile };
  const t = texGeometry(g);
  const va = packTexture(d, 'im2col', gy, 'A', {
    R: M, C: K, Rp: t.Mp, C4p: t.K4, Cin: c.Cout, Hi: c.Ho, Wi: c.Wo, Ho: c.H, Wo: c.W, pad: c.KH - 1 - c.p, KH: c.KH, KW: c.KW, STRIDE: 1, DIL: c.s,
  });
  const vb = packTexture(d, 'wflip', w, 'B', { R: K, C: N, Rp: t.Kp, C4p: t.N4p, Cin: c.Cin, KH: c.KH, KW: c.KW });
  gemmTex(d, va, vb, gx, { ...g, ta: 0, tb: 0, outMode: 1, hw: c.H * c.W });
}

/** Weight gradient: gw [Cout, Cin, KH, KW] from x [B, Cin, H, W] and gy [B, Cout, Ho, Wo]. */
export function conv2dTexBackwardWeight(d: Device, x: Tensor, gy: Tensor, gw: Tensor, c: ConvDims, tile: TexTile): void {
  const M = c.Cout, K = c.B * c.Ho * c.Wo, N = c.Cin * c.KH * c.KW;
  const g = { M, N, K, batch: 1, tile };
  const t = texGeometry(g);
  const va = packTexture(d, 'nchw_t', gy, 'A', { R: M, C: K, Rp: t.Mp, C4p: t.K4, Wo: c.Ho * c.Wo });
  const vb = packTexture(d, 'im2col', x, 'B', {
    R: K, C: N, Rp: t.Kp, C4p: t.N4p, Cin: c.Cin, Hi: c.H, Wi: c.W, Ho: c.Ho, Wo: c.Wo, pad: c.p, KH: c.KH, KW: c.KW, STRIDE: c.s, DIL: 1,
  });
  gemmTex(d, va, vb, gw, { ...g, ta: 0, tb: 0, outMode: 0 });
}
