// The implicit-GEMM convolutions (shaders/conv2d_tex.wgsl, conv2d_blk.wgsl, conv2d_tex_wgrad.wgsl):
// the input is packed once into a zero-padded NHWC4 texture (tex_pack.ts packPadded: one texel per
// 4 channels of a pixel, every input element read once instead of KH·KW times) — or read from the
// texture its producer wrote (packed.ts) — the weights into a [KH·KW·C4·4, N] texture ('wconv'),
// and the GEMM reads its A rows straight from the padded input. The input gradient is the same
// kernel over the s-dilated gy with flipped weights (the dilation and padding are in the packed
// texture); the weight gradient has its own kernel. Tiles and whether this path runs at all are
// conv2d_plan.ts's choice.
import convSource from '../../../shaders/conv2d_tex.wgsl';
import wgradSource from '../../../shaders/conv2d_tex_wgrad.wgsl';
import blkSource from '../../../shaders/conv2d_blk.wgsl';
import { Tensor } from '../tensor.js';
import * as red from './reduce.js';
import type { Device } from '../../gpu/device.js';
import { packPadded, packTexture } from './tex_pack.js';
import { currentPacked, markPacked, producerTexture, takePacked, type PaddedGeometry } from './packed.js';
import {
  blockFits, implicitConv, implicitFits, planImplicit, planImplicitWeight, weightGradGeometry,
  type ConvBlock, type ConvDims, type ImplicitConv, type ImplicitTile, type WeightGradPlan,
} from './conv2d_plan.js';

export interface ConvEpilogue {
  bias?: Tensor;
  silu?: boolean;
  /** Per-(image, channel) bias [B, N], added before the activation. */
  cbias?: Tensor;
  /** Residual [B, N, Ho, Wo], added after the activation. */
  res?: Tensor;
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

function runBlock(d: Device, src: Tensor, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, block: ConvBlock): void {
  const f = blockFits(d, q, block);
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
}

/** Run the implicit GEMM of q with a tile planImplicit chose (it checked that the tile fits). */
function runImplicit(d: Device, src: Tensor, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, tile: ImplicitTile): void {
  if ('block' in tile) {
    runBlock(d, src, w, out, q, epi, tile.block);
    return;
  }
  const f = implicitFits(d, q, tile);
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
}

/** Forward on the implicit GEMM: out = act(conv(x, w) + bias + cbias) + res. False when planImplicit says it does not run. */
export function conv2dImplicitForward(d: Device, x: Tensor, w: Tensor, out: Tensor, c: ConvDims, epi: ConvEpilogue, tile?: ImplicitTile): boolean {
  const t = planImplicit(d, 'forward', c, tile);
  if (t) runImplicit(d, x, w, out, implicitConv('forward', c), epi, t);
  return !!t;
}

/** Input gradient on the implicit GEMM: gx [B, Cin, H, W] from gy [B, Cout, Ho, Wo]. */
export function conv2dImplicitBackwardInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims, tile?: ImplicitTile): boolean {
  const t = planImplicit(d, 'input', c, tile);
  if (t) runImplicit(d, gy, w, gx, implicitConv('input', c), {}, t);
  return !!t;
}

/**
 * Weight gradient on the implicit GEMM (shaders/conv2d_tex_wgrad.wgsl): gw [Cout, Cin, KH, KW]
 * from x [B, Cin, H, W] (packed as the forward's padded NHWC4 texture) and gy [B, Cout, Ho, Wo]:
 * with tiles of 32·k rows, gy as a padded NHWC4 image — the one the input gradient of the same conv
 * just packed when it did (sourceTexture), else packed here — otherwise (or gyLayout 'nchw_t')
 * transposed into a [Cout, B·Ho·Wo] texture. `splits` > 1 splits the reduction over grid z into
 * partial gradients summed afterwards (for adapters that need more workgroups in flight). Null
 * where planImplicitWeight says the implicit path does not run.
 */
export function conv2dImplicitBackwardWeight(
  d: Device, x: Tensor, gy: Tensor, c: ConvDims, o: { tile?: { tm: number; tn: number }; splits?: number; gyLayout?: 'nhwc4' | 'nchw_t' } = {},
): Tensor | null {
  const shared = currentPacked(d, gy);
  const plan = planImplicitWeight(d, c, shared, o);
  return plan ? runImplicitWeight(d, x, gy, c, plan) : null;
}

/** Run a weight gradient planImplicitWeight planned (gy from the input gradient's texture if it is still there). */
export function runImplicitWeight(d: Device, x: Tensor, gy: Tensor, c: ConvDims, plan: WeightGradPlan): Tensor {
  const { tile, nhwc, splits } = plan;
  const shared = nhwc ? currentPacked(d, gy) : null;
  const gGeom = shared ?? { Hp: c.Ho, Wp: c.Wo, pad: 0 };
  const K = c.B * c.Ho * c.Wo;
  const { C4, N4, Hp, Wp, N4p, Mp, K4, gx, gyN } = weightGradGeometry(c, tile);
  const M4 = Math.ceil(c.Cout / 4);
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