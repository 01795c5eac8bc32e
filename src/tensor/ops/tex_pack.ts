// Packing passes into the texture GEMMs' rgba32float scratch textures (shaders/tex_pack.wgsl,
// tex_pack_vec4.wgsl): plain matrices with transposes, im2col for convolutions, weights flipped or
// laid out for the implicit GEMM, and the implicit GEMM's zero-padded NHWC4 input. A texture is a
// 4096-texel-wide scratch slot of the device (by name, grown as needed); packing passes write it
// through texel_out.ts (staged through a buffer on CPU adapters).
import packSource from '../../../shaders/tex_pack.wgsl';
import pack4Source from '../../../shaders/tex_pack_vec4.wgsl';
import type { Tensor } from '../tensor.js';
import { DeviceLocal, type Device } from '../../gpu/device.js';
import { grid1d } from '../dispatch.js';
import { stagesTexels, withTexelOutputs } from './texel_out.js';

/** log2 of the scratch textures' width in texels (the shaders' LOG_TW). */
export const LOG_TW = 12;
const TW = 1 << LOG_TW;
/** Workgroup size of the packing passes (texGemmFits checks their grids). */
export const PACK_WG = 64;

interface Scratch {
  tex: GPUTexture;
  view: GPUTextureView;
  rows: number;
  /** Staging buffer of the same size (texel_out.ts), made on first staged write. */
  staging?: GPUBuffer;
}
/** The device's scratch textures by slot name. */
const SCRATCH = new DeviceLocal('texture scratch slots', () => new Map<string, Scratch>());

/** Largest texel count a scratch texture can hold on this device. */
export function maxTexels(d: Device): number {
  return TW * d.limits.maxTextureDimension2D;
}

/**
 * The rgba32float scratch texture `slot` holding at least `texels` texels. Grows by powers of
 * two; the old texture is left to the GC because recordings may still bind it. Consecutive GEMMs
 * sharing a slot are safe: dispatches in a pass run in order.
 */
function scratchEntry(d: Device, slot: string, texels: number): Scratch {
  const m = d.local(SCRATCH);
  const need = Math.max(1, Math.ceil(texels / TW));
  let s = m.get(slot);
  if (!s || s.rows < need) {
    let rows = 1;
    while (rows < need) rows *= 2;
    rows = Math.min(rows, d.limits.maxTextureDimension2D);
    const tex = d.device.createTexture({
      label: `texgemm ${slot}`,
      size: [TW, rows],
      format: 'rgba32float',
      usage: 0x04 /* TEXTURE_BINDING */ | 0x08 /* STORAGE_BINDING */ | 0x02 /* COPY_DST */,
    });
    s = { tex, view: tex.createView(), rows };
    m.set(slot, s);
  }
  return s;
}

/**
 * Where a packing pass writes `texels` texels of scratch slot `slot`: `dst` to bind as the shader's
 * texel output (texel_out.ts), `view` to read afterwards, and `land()` to call once the pass (or
 * passes) are encoded — a copy from the staging buffer when `staged`, nothing otherwise. `staged`
 * may be forced (a shader with two texel outputs needs both alike).
 */
export interface TexTarget {
  view: GPUTextureView;
  dst: GPUTextureView | GPUBuffer;
  staged: boolean;
  land(): void;
}

export function scratchTarget(d: Device, slot: string, texels: number, staged?: boolean): TexTarget {
  const s = scratchEntry(d, slot, texels);
  const rows = Math.max(1, Math.ceil(texels / TW));
  if (!(staged ?? stagesTexels(d, s.rows * TW * 16))) return { view: s.view, dst: s.view, staged: false, land: () => {} };
  if (!s.staging || s.staging.size < s.rows * TW * 16) {
    s.staging = d.device.createBuffer({ label: `texgemm ${slot} staging`, size: s.rows * TW * 16, usage: 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ });
  }
  const staging = s.staging, tex = s.tex;
  return { view: s.view, dst: staging, staged: true, land: () => d.copyToTexture({ buffer: staging, texture: tex, width: TW, rows }) };
}

type PackEntry = 'pack' | 'im2col' | 'wflip' | 'nchw_t' | 'nhwc4' | 'nhwc4_px' | 'wconv';

export interface PackArgs {
  /** Logical matrix rows and columns, padded rows, texels per row. */
  R: number;
  C: number;
  Rp: number;
  C4p: number;
  nb?: number;
  sstride?: number;
  trans?: boolean;
  Cin?: number;
  Hi?: number;
  Wi?: number;
  Ho?: number;
  Wo?: number;
  pad?: number;
  KH?: number;
  KW?: number;
  STRIDE?: number;
  DIL?: number;
}

/** Pack `src` into scratch texture `slot` with one of tex_pack.wgsl's entries; returns its view. */
export function packTexture(d: Device, entry: PackEntry, src: Tensor, slot: string, a: PackArgs): GPUTextureView {
  const nb = a.nb ?? 1;
  const texels = nb * a.Rp * a.C4p;
  const out = scratchTarget(d, slot, texels);
  if (entry === 'pack' && !a.trans && a.C % 4 === 0 && (a.sstride ?? 0) % 4 === 0) {
    // whole-texel rows: one vec4 load an invocation (tex_pack_vec4.wgsl)
    d.run(
      { ...withTexelOutputs('tex_pack_vec4.wgsl', pack4Source, { dst: 1 }, out.staged), entry: 'pack4', constants: { LOG_TW, WG: PACK_WG } },
      { src, dst: out.dst, p: { R: a.R, C4: a.C / 4, Rp: a.Rp, C4p: a.C4p, sstride4: (a.sstride ?? 0) / 4, nb, _p0: 0, _p1: 0 } },
      grid1d(d, texels, PACK_WG),
    );
    out.land();
    return out.view;
  }
  // nhwc4_px: one invocation per padded pixel, grid (px, py, img); 8-wide rows on CPU adapters
  const pxWg = d.caps.cpu ? 8 : 64;
  const constants: Record<string, number> = { LOG_TW, WG: entry === 'nhwc4_px' ? pxWg : PACK_WG };
  if (entry === 'pack' || entry === 'wconv') constants.TRANS = a.trans ? 1 : 0;
  if (entry === 'im2col' || entry === 'wflip' || entry === 'wconv') Object.assign(constants, { KH: a.KH ?? 1, KW: a.KW ?? 1 });
  if (entry === 'im2col') Object.assign(constants, { STRIDE: a.STRIDE ?? 1, DIL: a.DIL ?? 1 });
  if (entry === 'nhwc4' || entry === 'nhwc4_px') constants.DIL = a.DIL ?? 1;
  d.run(
    { ...withTexelOutputs('tex_pack.wgsl', packSource, { dst: 1 }, out.staged), entry, constants },
    {
      src, dst: out.dst,
      p: {
        R: a.R, C: a.C, Rp: a.Rp, C4p: a.C4p, sstride: a.sstride ?? 0, nb,
        Cin: a.Cin ?? 0, Hi: a.Hi ?? 0, Wi: a.Wi ?? 0, Ho: a.Ho ?? 0, Wo: a.Wo ?? 0, pad: a.pad ?? 0,
      },
    },
    entry === 'nhwc4_px'
      ? [Math.ceil((a.Wo ?? 1) / pxWg), a.Ho ?? 1, a.R / ((a.Ho ?? 1) * (a.Wo ?? 1))]
      : grid1d(d, texels, PACK_WG),
  );
  out.land();
  return out.view;
}

/**
 * Pack src [B, Rc, Hi, Wi] into scratch `slot` as the padded NHWC4 texture [B, Hp, Wp, C4] of the
 * implicit GEMMs, by the policy's implicitPack pass: 'nhwc4_px' (one invocation per pixel, no
 * divisions) measured faster than 'nhwc4' (one per texel) on lavapipe; both stay under test. (A
 * variant reading 4 pixels per channel plane as vec4 loads measured 0.65–1.0× of nhwc4_px and was dropped.)
 */
export function packPadded(d: Device, src: Tensor, slot: string, g: { B: number; Rc: number; Hi: number; Wi: number; Hp: number; Wp: number; pad: number; dil: number }): GPUTextureView {
  const C4 = Math.ceil(g.Rc / 4);
  const R = g.B * g.Hp * g.Wp;
  return packTexture(d, d.policy.implicitPack, src, slot, {
    R, C: g.Rc, Rp: R, C4p: C4, Cin: g.Rc, Hi: g.Hi, Wi: g.Wi, Ho: g.Hp, Wo: g.Wp, pad: g.pad, DIL: g.dil,
  });
}
