// The implicit-GEMM convolutions (shaders/conv2d_tex.wgsl, conv2d_blk.wgsl, conv2d_tex_wgrad.wgsl):
// the input is packed once into a zero-padded NHWC4 texture (tex_pack.ts packPadded: one texel per
// 4 channels of a pixel, every input element read once instead of KH·KW times) — or read from the
// texture a fused producer wrote (packed.ts PackedInput) — the weights into a [KH·KW·C4·4, N] texture ('wconv'),
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
import { sameGeometry, type PackedInput, type PaddedGeometry } from './packed.js';
import { KernelError } from '../../gpu/errors.js';
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
 * What an implicit-GEMM kernel reads its source from: the tensor (packed here) or a texture a
 * producer already wrote in the wanted layout.
 */
export type ImplicitSource = Tensor | PackedInput;

/**
 * The padded NHWC4 texture an implicit-GEMM kernel reads its source in: the one given, or packed
 * here. The input gradient of a stride-1 conv packs gy into scratch slot 'GY' (which no other
 * packing pass uses) and returns it, so that the weight gradient of the same conv can read gy
 * from it instead of packing gy again (conv2d.ts conv2dBackward).
 */
function sourceTexture(d: Device, src: ImplicitSource, q: ImplicitConv, g: PaddedGeometry): { view: GPUTextureView; kept: PackedInput | null } {
  if (!(src instanceof Tensor)) {
    if (q.dil !== 1 || !sameGeometry(src.geometry, g)) {
      throw new KernelError(`implicit conv: a packed input of geometry ${JSON.stringify(src.geometry)} given where the kernel reads ${JSON.stringify(g)} (dilation ${q.dil})`);
    }
    return { view: src.view, kept: null };
  }
  const pack = { B: q.B, Rc: q.Rc, Hi: q.Hi, Wi: q.Wi, Hp: g.Hp, Wp: g.Wp, pad: g.pad, dil: q.dil };
  if (!q.flip || q.dil !== 1) return { view: packPadded(d, src, 'CA', pack), kept: null };
  const view = packPadded(d, src, 'GY', pack);
  return { view, kept: { view, geometry: g } };
}

function runBlock(d: Device, src: ImplicitSource, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, block: ConvBlock): PackedInput | null {
  const f = blockFits(d, q, block);
  const { BX, BY, Hp, Wp, C4, Np, N4p } = f;
  const { view: va, kept } = sourceTexture(d, src, q, { Hp, Wp, pad: q.pad });
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
  return kept;
}

/**
 * Run the implicit GEMM of q with a tile planImplicit chose (it checked that the tile fits); returns
 * the texture of gy an input gradient packed and kept (sourceTexture), else null.
 */
function runImplicit(d: Device, src: ImplicitSource, w: Tensor, out: Tensor, q: ImplicitConv, epi: ConvEpilogue, tile: ImplicitTile): PackedInput | null {
  if ('block' in tile) return runBlock(d, src, w, out, q, epi, tile.block);
  const f = implicitFits(d, q, tile);
  const { C4, Hp, Wp, M, Np } = f;
  const N4p = Np / 4;
  const { view: va, kept } = sourceTexture(d, src, q, { Hp, Wp, pad: q.pad });
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
  return kept;
}

/**
 * Forward on the implicit GEMM: out = act(conv(x, w) + bias + cbias) + res, x a tensor or its
 * texture in the padded geometry of the tile. False when planImplicit says it does not run.
 */
export function conv2dImplicitForward(d: Device, x: ImplicitSource, w: Tensor, out: Tensor, c: ConvDims, epi: ConvEpilogue, tile?: ImplicitTile): boolean {
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
 * Run an input gradient with the tile planConv2d chose; returns gy's padded texture when it packed
 * one the weight gradient of the same conv can read (stride 1), else null.
 */
export function runImplicitInput(d: Device, gy: Tensor, w: Tensor, gx: Tensor, c: ConvDims, tile: ImplicitTile): PackedInput | null {
  return runImplicit(d, gy, w, gx, implicitConv('input', c), {}, tile);
}

/**
 * Weight gradient on the implicit GEMM (shaders/conv2d_tex_wgrad.wgsl): gw [Cout, Cin, KH, KW]
 * from x [B, Cin, H, W] (packed as the forward's padded NHWC4 texture) and gy [B, Cout, Ho, Wo]:
 * with tiles of 32·k rows, gy as a padded NHWC4 image — `gyPacked`, the one the input gradient of
 * the same conv packed (conv2dBackward), when given, else packed here — otherwise (or gyLayout
 * 'nchw_t') transposed into a [Cout, B·Ho·Wo] texture. `splits` > 1 splits the reduction over grid
 * z into partial gradients summed afterwards (for adapters that need more workgroups in flight).
 * Null where planImplicitWeight says the implicit path does not run.
 */
export function conv2dImplicitBackwardWeight(
  d: Device, x: Tensor, gy: Tensor, c: ConvDims,
  o: { tile?: { tm: number; tn: number }; splits?: number; gyLayout?: 'nhwc4' | 'nchw_t'; gyPacked?: PackedInput | null } = {},
): Tensor | null {
  const plan = planImplicitWeight(d, c, o.gyPacked?.geometry ?? null, o);
  return plan ? runImplicitWeight(d, x, gy, c, plan, o.gyPacked) : null;
}

/** Run a weight gradient planImplicitWeight planned (gy from `gyPacked` when the plan reads gy as NHWC4 and it is given). */
export function runImplicitWeight(d: Device, x: Tensor, gy: Tensor, c: ConvDims, plan: WeightGradPlan, gyPacked?: PackedInput | null): Tensor {
  const { tile, nhwc, splits } = plan;
  const shared = nhwc && gyPacked ? { ...gyPacked.geometry, view: gyPacked.view } : null;
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