// conv2d and its two gradients as GEMMs on the texture GEMM (matmul_tex.ts), for CPU adapters:
// the input (or gradient) is unfolded straight into the A or B texture by tex_pack.wgsl's im2col,
// the weights are packed (transposed or flipped), and one matmul_tex.wgsl dispatch does the rest.
//   forward         C[(img, pix), co]      = im2col(x)[(img, pix), (ci, ky, kx)] · wᵀ
//   input gradient  C[(img, pix), ci]      = im2col(s-dilated gy, pad k−1−p)[(img, pix), (co, ky, kx)] · wflip
//   weight gradient C[co, (ci, ky, kx)]    = gyᵀ[co, (img, pix)] · im2col(x)[(img, pix), (ci, ky, kx)]
// The forward and input-gradient outputs are scattered back to NCHW by the GEMM's OUT_MODE 1.
import convSource from '../../../shaders/conv2d_tex.wgsl';
import wgradSource from '../../../shaders/conv2d_tex_wgrad.wgsl';
import blkSource from '../../../shaders/conv2d_blk.wgsl';
import { Tensor } from '../tensor.js';
import * as red from './reduce.js';
import type { Device } from '../../gpu/device.js';
import { gemmTex, texGemmFits, texGeometry, type TexTile } from './matmul_tex.js';
import { maxTexels, packPadded, packTexture } from './tex_pack.js';
import { currentPacked, markPacked, producerTexture, takePacked, type PaddedGeometry } from './packed.js';

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
  const mode = d.policy.convTex;
  if (mode === 'never' || !d.caps.subgroups) return false;
  if (mode === 'always') return true;
  return d.caps.cpu && channels >= 64 && hw <= maxHw && Math.min(M, N) >= 16 && K >= 16 && M * N * K >= 1 << 22;
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

// ------------------------------------------------------------------ implicit GEMM (no im2col)
// shaders/conv2d_tex.wgsl: the input is packed once into a zero-padded NHWC4 texture
// (tex_pack.wgsl 'nhwc4', one texel per 4 channels of a pixel: every input element is read once
// instead of KH·KW times), the weights into a [KH·KW·C4·4, N] texture ('wconv'), and the GEMM
// reads its A rows straight from the padded input. The input gradient is the same kernel over the
// s-dilated gy with flipped weights (the dilation and padding are in the packed texture).

/**
 * Strip shape for an M × N output: rows × columns per lane (8 lanes cover 8·tn columns). Measured
 * on lavapipe at B64 (forward, interleaved A/B): 64×4 ≥ 48×4 > 32×4 > 16×8 > 16×4 > 8×8 at the
 * U-Net's 28×28·32, 14×14·64 and 7×7·128 convs (more rows share each B texel); 32×4 where 64-row
 * strips would leave fewer than 32 workgroups.
 */
export function implicitTile(M: number, N: number): { tm: number; tn: number } {
  return Math.ceil(M / 64) * Math.ceil(N / 32) >= 32 ? { tm: 64, tn: 4 } : { tm: 32, tn: 4 };
}

/**
 * CPU adapters with subgroups (any such adapter when forced). At N < 16 output channels most of
 * the 8·tn-column strip would be padding, and tiny problems are dispatch-bound either way; with
 * fewer than 4 reduction channels `rc` most of each input texel is padding (the U-Net's 1→32 input
 * conv at B64: the row conv ×1.78 faster).
 */
export function convImplicitWorthwhile(d: Device, M: number, N: number, K: number, rc = 4): boolean {
  const mode = d.policy.convImplicit;
  if (mode === 'never' || !d.caps.subgroups) return false;
  if (mode === 'always') return true;
  return d.caps.cpu && N >= 16 && K >= 8 && rc >= 4 && M * N * K >= 1 << 20;
}

export interface ConvEpilogue {
  bias?: Tensor;
  silu?: boolean;
  /** Per-(image, channel) bias [B, N], added before the activation. */
  cbias?: Tensor;
  /** Residual [B, N, Ho, Wo], added after the activation. */
  res?: Tensor;
}

interface ImplicitConv {
  /** Source [B, Rc, Hi, Wi] (x, or gy for the input gradient). */
  B: number; Rc: number; Hi: number; Wi: number;
  /** Output [B, N, Ho, Wo]. */
  N: number; Ho: number; Wo: number;
  KH: number; KW: number;
  stride: number; dil: number; pad: number;
  /** false: w is [N, Rc, KH, KW]; true: w is [Rc, N, KH, KW] used flipped (input gradient). */
  flip: boolean;
}

/**
 * The padded input image an implicit-GEMM kernel reads for output Ho × Wo: just the receptive
 * field for row strips, room for whole blocks for the block kernel (stride 1).
 */
function paddedGeometry(q: { Ho: number; Wo: number; KH: number; KW: number; stride: number; pad: number }, tile: ImplicitTile): PaddedGeometry {
  if ('block' in tile) {
    const [BW, BH] = tile.block.split('x').map(Number);
    return { Hp: Math.ceil(q.Ho / BH) * BH + q.KH - 1, Wp: Math.ceil(q.Wo / BW) * BW + q.KW - 1, pad: q.pad };
  }
  return { Hp: (q.Ho - 1) * q.stride + q.KH, Wp: (q.Wo - 1) * q.stride + q.KW, pad: q.pad };
}

function implicitFits(d: Device, q: ImplicitConv, tile: { tm: number; tn: number }) {
  const C4 = Math.ceil(q.Rc / 4);
  const { Hp, Wp } = paddedGeometry(q, tile);
  const M = q.B * q.Ho * q.Wo;
  const Np = Math.ceil(q.N / (8 * tile.tn)) * 8 * tile.tn;
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const aTexels = q.B * Hp * Wp * C4, bTexels = q.KH * q.KW * C4 * 4 * (Np / 4);
  const packs = (n: number) => Math.ceil(n / 64);
  const ok = aTexels <= maxTexels(d) && bTexels <= maxTexels(d) && Math.ceil(M / tile.tm) <= maxWg && Np / (8 * tile.tn) <= maxWg &&
    packs(aTexels) <= maxWg * maxWg && packs(bTexels) <= maxWg * maxWg;
  return { ok, C4, Hp, Wp, M, Np };
}

/**
 * The padded geometry conv2dImplicitForward will read its input in, or null when that forward does
 * not take the implicit path (so a producer need not pack for it).
 */
export function implicitForwardGeometry(d: Device, c: ConvDims): PaddedGeometry | null {
  if (!convImplicitWorthwhile(d, c.B * c.Ho * c.Wo, c.Cout, c.Cin * c.KH * c.KW, c.Cin)) return null;
  const tile = implicitTileFor(d, { B: c.B, Rc: c.Cin, Ho: c.Ho, Wo: c.Wo, N: c.Cout, KH: c.KH, KW: c.KW, stride: c.s, dil: 1 });
  return paddedGeometry({ Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, pad: c.p }, tile);
}

/**
 * The padded NHWC4 texture an implicit-GEMM kernel reads its source in: a producer's if it holds
 * one, else packed here. The input gradient packs gy into the producer slot 'GY' and says so, so
 * that the weight gradient of the same conv, which runs next, reads gy from it instead of packing
 * gy again (conv2dImplicitBackwardWeight).
 */
function sourceTexture(d: Device, src: Tensor, q: ImplicitConv, g: PaddedGeometry): GPUTextureView {
  const have = takePacked(d, src, g, q.dil);
  if (have) return have;
  const pack = { B: q.B, Rc: q.Rc, Hi: q.Hi, Wi: q.Wi, Hp: g.Hp, Wp: g.Wp, pad: g.pad, dil: q.dil };
  if (!q.flip || q.dil !== 1) return packPadded(d, src, 'CA', pack);
  const t = producerTexture(d, q.B * g.Hp * g.Wp * Math.ceil(q.Rc / 4), 'GY');
  packPadded(d, src, 'GY', pack);
  markPacked(src, g, t);
  return t.view;
}

/** Output blocks of shaders/conv2d_blk.wgsl (scripts/gen-conv2d-blk.mjs): width × height. */
export type ConvBlock = '7x7';

/** Whether the block kernel's textures and grid fit the adapter for q (and its geometry). */
function blockFits(d: Device, q: { B: number; Rc: number; N: number; Ho: number; Wo: number; KH: number; KW: number; stride: number; pad?: number }, block: ConvBlock) {
  const [BW, BH] = block.split('x').map(Number);
  const BX = Math.ceil(q.Wo / BW), BY = Math.ceil(q.Ho / BH);
  const { Hp, Wp } = paddedGeometry({ ...q, pad: q.pad ?? 0 }, { block });
  const C4 = Math.ceil(q.Rc / 4);
  const Np = Math.ceil(q.N / 32) * 32, N4p = Np / 4;
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const aTexels = q.B * Hp * Wp * C4, bTexels = q.KH * q.KW * C4 * 4 * N4p;
  const ok = aTexels <= maxTexels(d) && bTexels <= maxTexels(d) && q.B * BX * BY <= maxWg && Math.ceil(Math.max(aTexels, bTexels) / 64) <= maxWg * maxWg;
  return { ok, BX, BY, Hp, Wp, C4, Np, N4p };
}

function runBlock(d: Device, src: Tensor, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, block: ConvBlock): boolean {
  const f = blockFits(d, q, block);
  if (!f.ok) return false;
  const { BX, BY, Hp, Wp, C4, Np, N4p } = f;
  const va = sourceTexture(d, src, q, { Hp, Wp, pad: q.pad });
  const rows = q.KH * q.KW * C4 * 4;
  const vb = packTexture(d, 'wconv', w, 'CB', { R: rows, C: q.N, Rp: rows, C4p: N4p, Cin: q.Rc, KH: q.KH, KW: q.KW, trans: q.flip });
  d.run(
    {
      file: 'conv2d_blk.wgsl', source: blkSource, entry: `blk${block}`, constants: { LOG_TW: 12 },
    },
    {
      ta: va, tb: vb, bias: epi.bias ?? d.dummy, cbias: epi.cbias ?? d.dummy, res: epi.res ?? d.dummy, out,
      p: { N: q.N, C4, N4p, Ho: q.Ho, Wo: q.Wo, Hp, Wp, BX, nblk: BX * BY, flags: (epi.bias ? 1 : 0) | (epi.cbias ? 2 : 0) | (epi.silu ? 4 : 0) | (epi.res ? 8 : 0) },
    },
    [Np / 32, q.B * BX * BY, 1],
  );
  return true;
}

/** A row-strip shape of conv2d_tex.wgsl, or an output block of conv2d_blk.wgsl. */
export type ImplicitTile = { tm: number; tn: number } | { block: ConvBlock };

/** The problems conv2d_blk.wgsl computes: 3×3 kernels, stride 1, no dilation. */
export function blockKernelServes(q: { KH: number; KW: number; stride: number; dil: number }): boolean {
  return q.KH === 3 && q.KW === 3 && q.stride === 1 && q.dil === 1;
}

/** A problem the block kernel serves whose output tiles exactly into 7×7 blocks. */
export function blocksTile(q: { Ho: number; Wo: number; KH: number; KW: number; stride: number; dil: number }): boolean {
  return blockKernelServes(q) && q.Ho % 7 === 0 && q.Wo % 7 === 0;
}

/**
 * 3×3 stride-1 convs whose output tiles exactly into 7×7 blocks take conv2d_blk.wgsl (each input
 * texel fetched once per block, not once per tap; scripts/gen-conv2d-blk.mjs): forwards at any such
 * size, input gradients up to 14×14; other shapes the row strips of implicitTile. Measured on
 * lavapipe at B64 (interleaved A/B): ×1.05–1.17 at the U-Net's 14×14 and 7×7 shapes; at 28×28 the
 * whole reference U-Net forward ×1.07 (7 of 7 rounds faster), but its training step, where the
 * 28×28 input gradients would take blocks too, was slower (0.96×).
 */
export function defaultImplicitTile(q: { B: number; Ho: number; Wo: number; N: number; KH: number; KW: number; stride: number; dil: number; input?: boolean }): ImplicitTile {
  if (blocksTile(q) && (!q.input || q.Ho * q.Wo <= 196)) return { block: '7x7' };
  return implicitTile(q.B * q.Ho * q.Wo, q.N);
}

/** The problem an implicit-GEMM tile is chosen for: output [B, N, Ho, Wo] from Rc reduction channels. */
export interface ImplicitProblem {
  B: number; Rc: number; N: number; Ho: number; Wo: number; KH: number; KW: number; stride: number; dil: number;
  /** The input gradient (flipped weights over gy), not the forward. */
  input?: boolean;
}

declare module '../../gpu/policy.js' {
  interface KernelChoosers {
    /** The implicit-GEMM tile of a forward or input gradient in place of defaultImplicitTile's (autotuner, A/B rules), or undefined for the default. */
    implicitTile?: (device: Device, q: ImplicitProblem) => ImplicitTile | undefined;
  }
}

/** The tile the implicit path will use for q on d (the policy's chooser's, the measured rule by default). */
export function implicitTileFor(d: Device, q: ImplicitProblem): ImplicitTile {
  const t = d.policy.choosers.implicitTile?.(d, q) ?? defaultImplicitTile(q);
  // a block cannot serve a strided or dilated problem, nor one whose grid or textures outgrow the adapter
  const bad = 'block' in t && (!blockKernelServes(q) || !blockFits(d, q, t.block).ok);
  return bad ? implicitTile(q.B * q.Ho * q.Wo, q.N) : t;
}

function runImplicit(d: Device, src: Tensor, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, tile: ImplicitTile = implicitTileFor(d, { ...q, input: q.flip })): boolean {
  if ('block' in tile) {
    return blockKernelServes(q) && runBlock(d, src, w, out, q, epi, tile.block);
  }
  const f = implicitFits(d, q, tile);
  if (!f.ok) return false;
  const { C4, Hp, Wp, M, Np } = f;
  const N4p = Np / 4;
  const va = sourceTexture(d, src, q, { Hp, Wp, pad: q.pad });
  const rows = q.KH * q.KW * C4 * 4;
  const vb = packTexture(d, 'wconv', w, 'CB', { R: rows, C: q.N, Rp: rows, C4p: N4p, Cin: q.Rc, KH: q.KH, KW: q.KW, trans: q.flip });
  d.run(
    {
      file: 'conv2d_tex.wgsl', source: convSource, entry: `main${tile.tm}x${tile.tn}`,
      constants: {
        KH: q.KH, KW: q.KW, STRIDE: q.stride, LOG_TW: 12, HAS_BIAS: epi.bias ? 1 : 0, HAS_CBIAS: epi.cbias ? 1 : 0,
        HAS_RES: epi.res ? 1 : 0, ACT: epi.silu ? 1 : 0,
      },
    },
    {
      ta: va, tb: vb, bias: epi.bias ?? d.dummy, cbias: epi.cbias ?? d.dummy, res: epi.res ?? d.dummy, out,
      p: { M, N: q.N, C4, N4p, Wo: q.Wo, hw: q.Ho * q.Wo, Hp, Wp },
    },
    [Np / (8 * tile.tn), Math.ceil(M / tile.tm), 1],
  );
  return true;
}

/** Forward on the implicit GEMM: out = act(conv(x, w) + bias + cbias) + res. False when it cannot run. */
export function conv2dImplicitForward(d: Device, x: Tensor, w: Tensor, out: Tensor, c: ConvDims, epi: ConvEpilogue, tile?: ImplicitTile): boolean {
  if (!convImplicitWorthwhile(d, c.B * c.Ho * c.Wo, c.Cout, c.Cin * c.KH * c.KW, c.Cin)) return false;
  return runImplicit(d, x, w, out, {
    B: c.B, Rc: c.Cin, Hi: c.H, Wi: c.W, N: c.Cout, Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, dil: 1, pad: c.p, flip: false,
  }, epi, tile);
}

/** Input gradient on the implicit GEMM: gx [B, Cin, H, W] from gy [B, Cout, Ho, Wo]. */
export function conv2dImplicitBackwardInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims, tile?: ImplicitTile): boolean {
  if (!convImplicitWorthwhile(d, c.B * c.H * c.W, c.Cin, c.Cout * c.KH * c.KW, c.Cout)) return false;
  // the s-dilated gy padded by k−1−p on the left; the right padding makes the extent fit H, W
  return runImplicit(d, gy, w, gx, {
    B: c.B, Rc: c.Cout, Hi: c.Ho, Wi: c.Wo, N: c.Cin, Ho: c.H, Wo: c.W, KH: c.KH, KW: c.KW, stride: 1, dil: c.s, pad: c.KH - 1 - c.p, flip: true,
  }, {}, tile);
}

/**
 * Weight gradient on the implicit GEMM (shaders/conv2d_tex_wgrad.wgsl): gw [Cout, Cin, KH, KW]
 * from x [B, Cin, H, W] (packed as the forward's padded NHWC4 texture) and gy [B, Cout, Ho, Wo]:
 * with tiles of 32·k rows, gy as a padded NHWC4 image — the one the input gradient of the same conv
 * just packed when it did (sourceTexture), else packed here — otherwise (or gyLayout 'nchw_t')
 * transposed into a [Cout, B·Ho·Wo] texture. `splits` > 1 splits the reduction over grid z into
 * partial gradients summed afterwards (for adapters that need more workgroups in flight).
 */
export function conv2dImplicitBackwardWeight(
  d: Device, x: Tensor, gy: Tensor, c: ConvDims, o: { tile?: { tm: number; tn: number }; splits?: number; gyLayout?: 'nhwc4' | 'nchw_t' } = {},
): Tensor | null {
  const K = c.B * c.Ho * c.Wo, taps = c.KH * c.KW;
  if (c.Cout < 8 || !convImplicitWorthwhile(d, c.Cout, c.Cin * taps, K)) return null;
  // weight gradient, B64 on lavapipe: 32×8 beat 16×8 by 5–20% at the U-Net's shapes; 64×4 lost
  const tile = o.tile ?? (c.Cout >= 32 ? { tm: 32, tn: 8 } : { tm: 16, tn: 8 });
  // gy as a padded NHWC4 image (wgradn…), shared with the input gradient, wherever the tile takes it
  const nhwc = (o.gyLayout ?? 'nhwc4') === 'nhwc4' && tile.tm % 32 === 0;
  const shared = nhwc ? currentPacked(d, gy) : null;
  const gGeom = shared ?? { Hp: c.Ho, Wp: c.Wo, pad: 0 };
  const C4 = Math.ceil(c.Cin / 4), N4 = taps * C4, M4 = Math.ceil(c.Cout / 4);
  const { Hp, Wp } = paddedGeometry({ Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, pad: c.p }, tile);
  const N4p = Math.ceil(N4 / (2 * tile.tn)) * (2 * tile.tn); // 8 lanes × tn/4 texels per workgroup
  const Mp = Math.ceil(c.Cout / tile.tm) * tile.tm, K4 = Math.ceil(K / 4);
  const gx = N4p / (2 * tile.tn), gyN = Mp / tile.tm;
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const aTexels = nhwc ? c.B * gGeom.Hp * gGeom.Wp * M4 : Mp * K4, bTexels = c.B * Hp * Wp * C4;
  if (aTexels > maxTexels(d) || bTexels > maxTexels(d) || gx > maxWg || gyN > maxWg || Math.ceil(Math.max(aTexels, bTexels) / 64) > maxWg * maxWg) return null;
  // GPUs want hundreds of workgroups in flight. On lavapipe short reductions keep each chunk's
  // slice of the input in cache while all workgroups of that chunk run: at B64 (interleaved A/B)
  // chunks of ≤ 400 texels were 1.1× (28×28·32) to 2.7× (7×7·128) faster than one chunk.
  const auto = d.caps.cpu ? Math.ceil(K4 / 128) : Math.ceil(512 / (gx * gyN));
  const splits = Math.max(1, Math.min(o.splits ?? auto, 64, Math.floor(K4 / 16) || 1));
  const kchunk = Math.ceil(K4 / splits);
  const va = !nhwc
    ? packTexture(d, 'nchw_t', gy, 'CA', { R: c.Cout, C: K, Rp: Mp, C4p: K4, Wo: c.Ho * c.Wo })
    : shared?.view ?? packPadded(d, gy, 'CA', { B: c.B, Rc: c.Cout, Hi: c.Ho, Wi: c.Wo, Hp: c.Ho, Wp: c.Wo, pad: 0, dil: 1 });
  const vb = packPadded(d, x, 'CB', { B: c.B, Rc: c.Cin, Hi: c.H, Wi: c.W, Hp, Wp, pad: c.p, dil: 1 });
  const nz = Math.ceil(K4 / kchunk);
  const wShape = [c.Cout, c.Cin, c.KH, c.KW];
  const part = Tensor.empty(d, nz > 1 ? [nz, ...wShape] : wShape, nz > 1 ? 'conv2d weight-gradient partials' : 'conv2d weight gradient');
  d.run(
    { file: 'conv2d_tex_wgrad.wgsl', source: wgradSource, entry: `wgrad${nhwc ? 'n' : ''}${tile.tm}x${tile.tn}`, constants: { KH: c.KH, KW: c.KW, STRIDE: c.s, LOG_TW: 12 } },
    {
      wa: va, wb: vb, wout: part,
      q: { M: c.Cout, N4, C4, N4p, K4, Cin: c.Cin, Ho: c.Ho, Wo: c.Wo, Hp, Wp, B: c.B, kchunk, Hg: gGeom.Hp, Wg: gGeom.Wp, gpad: gGeom.pad, M4 },
    },
    [gx, gyN, nz],
  );
  if (nz === 1) return part;
  const gw = red.sum(part, 0);
  part.dispose();
  return gw;
}
