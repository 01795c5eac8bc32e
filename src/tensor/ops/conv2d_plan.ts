// Which kernel a convolution runs, decided in one place (as tfjs-backend-webgpu's conv2DImpl does):
// planConv2d turns the shapes, the adapter's capabilities (Device.caps), the device's kernel policy
// (forced paths, the autotuner's tile chooser) and what the input gradient left packed into a plan —
// data: the algorithm, its tile or configuration, the packing — that conv2d.ts runs and that tests
// and `scoregpu bench --plans` print. The algorithms: an implicit GEMM over a padded NHWC4 texture
// (conv2d_implicit.ts), im2col + the texture GEMM (conv2d_im2col.ts), the direct row kernel over
// storage buffers (conv2d_direct.ts), tried in that order where each is worthwhile and fits.
import type { Device } from '../../gpu/device.js';
import { texGemmFits, type TexTile } from './matmul_tex.js';
import { maxTexels } from './tex_pack.js';
import type { PaddedGeometry } from './packed.js';
import { defaultConv2dConfig, type Conv2dConfig } from './conv2d_direct.js';

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

// ------------------------------------------------------------------ implicit GEMM: rules and fits

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

export interface ImplicitConv {
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
export function paddedGeometry(q: { Ho: number; Wo: number; KH: number; KW: number; stride: number; pad: number }, tile: ImplicitTile): PaddedGeometry {
  if ('block' in tile) {
    const [BW, BH] = tile.block.split('x').map(Number);
    return { Hp: Math.ceil(q.Ho / BH) * BH + q.KH - 1, Wp: Math.ceil(q.Wo / BW) * BW + q.KW - 1, pad: q.pad };
  }
  return { Hp: (q.Ho - 1) * q.stride + q.KH, Wp: (q.Wo - 1) * q.stride + q.KW, pad: q.pad };
}

export function implicitFits(d: Device, q: ImplicitConv, tile: { tm: number; tn: number }) {
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

/** Output blocks of shaders/conv2d_blk.wgsl (scripts/gen-conv2d-blk.mjs): width × height. */
export type ConvBlock = '7x7';

/** Whether the block kernel's textures and grid fit the adapter for q (and its geometry). */
export function blockFits(d: Device, q: { B: number; Rc: number; N: number; Ho: number; Wo: number; KH: number; KW: number; stride: number; pad?: number }, block: ConvBlock) {
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

/** The implicit GEMM's problem for a forward (x → y) or an input gradient (gy → gx, flipped weights). */
export function implicitConv(kind: 'forward' | 'input', c: ConvDims): ImplicitConv {
  return kind === 'forward'
    ? { B: c.B, Rc: c.Cin, Hi: c.H, Wi: c.W, N: c.Cout, Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, dil: 1, pad: c.p, flip: false }
    // the s-dilated gy padded by k−1−p on the left; the right padding makes the extent fit H, W
    : { B: c.B, Rc: c.Cout, Hi: c.Ho, Wi: c.Wo, N: c.Cin, Ho: c.H, Wo: c.W, KH: c.KH, KW: c.KW, stride: 1, dil: c.s, pad: c.KH - 1 - c.p, flip: true };
}

/**
 * The implicit-GEMM tile of a forward or input gradient (`tile` forces one), or null where the
 * implicit path is not worthwhile or that tile cannot run (a block for a strided problem, textures
 * or grids over the adapter's limits).
 */
export function planImplicit(d: Device, kind: 'forward' | 'input', c: ConvDims, tile?: ImplicitTile): ImplicitTile | null {
  const worth = kind === 'forward'
    ? convImplicitWorthwhile(d, c.B * c.Ho * c.Wo, c.Cout, c.Cin * c.KH * c.KW, c.Cin)
    : convImplicitWorthwhile(d, c.B * c.H * c.W, c.Cin, c.Cout * c.KH * c.KW, c.Cout);
  if (!worth) return null;
  const q = implicitConv(kind, c);
  const t = tile ?? implicitTileFor(d, { ...q, input: q.flip });
  const ok = 'block' in t ? blockKernelServes(q) && blockFits(d, q, t.block).ok : implicitFits(d, q, t).ok;
  return ok ? t : null;
}

/** The implicit weight gradient's choices (conv2d_implicit.ts conv2dImplicitBackwardWeight). */
export interface WeightGradPlan {
  tile: { tm: number; tn: number };
  /** gy read as a padded NHWC4 image (the input gradient's, when `gyPacked` was given) or transposed [Cout, B·Ho·Wo]. */
  nhwc: boolean;
  /** Reduction chunks over grid z (partial gradients summed afterwards). */
  splits: number;
}

/**
 * The implicit weight gradient's tile, gy layout and reduction split, or null where it does not
 * run. `gyPacked`: the geometry of gy's texture that the input gradient left (conv2d.ts conv2dBackward), if any;
 * `o` forces choices (tests, A/B tools).
 */
export function planImplicitWeight(
  d: Device, c: ConvDims, gyPacked: PaddedGeometry | null, o: { tile?: { tm: number; tn: number }; splits?: number; gyLayout?: 'nhwc4' | 'nchw_t' } = {},
): WeightGradPlan | null {
  const K = c.B * c.Ho * c.Wo, taps = c.KH * c.KW;
  if (c.Cout < 8 || !convImplicitWorthwhile(d, c.Cout, c.Cin * taps, K)) return null;
  // weight gradient, B64 on lavapipe: 32×8 beat 16×8 by 5–20% at the U-Net's shapes; 64×4 lost
  const tile = o.tile ?? (c.Cout >= 32 ? { tm: 32, tn: 8 } : { tm: 16, tn: 8 });
  // gy as a padded NHWC4 image (wgradn…), shared with the input gradient, wherever the tile takes it
  const nhwc = (o.gyLayout ?? 'nhwc4') === 'nhwc4' && tile.tm % 32 === 0;
  const gGeom = (nhwc ? gyPacked : null) ?? { Hp: c.Ho, Wp: c.Wo, pad: 0 };
  const g = weightGradGeometry(c, tile);
  const M4 = Math.ceil(c.Cout / 4);
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const aTexels = nhwc ? c.B * gGeom.Hp * gGeom.Wp * M4 : g.Mp * g.K4, bTexels = c.B * g.Hp * g.Wp * g.C4;
  if (aTexels > maxTexels(d) || bTexels > maxTexels(d) || g.gx > maxWg || g.gyN > maxWg || Math.ceil(Math.max(aTexels, bTexels) / 64) > maxWg * maxWg) return null;
  // GPUs want hundreds of workgroups in flight. On lavapipe short reductions keep each chunk's
  // slice of the input in cache while all workgroups of that chunk run: at B64 (interleaved A/B)
  // chunks of ≤ 400 texels were 1.1× (28×28·32) to 2.7× (7×7·128) faster than one chunk.
  const auto = d.caps.cpu ? Math.ceil(g.K4 / 128) : Math.ceil(512 / (g.gx * g.gyN));
  const splits = Math.max(1, Math.min(o.splits ?? auto, 64, Math.floor(g.K4 / 16) || 1));
  return { tile, nhwc, splits };
}

/** Sizes of the implicit weight gradient's GEMM for a tile: x's padded image, padded extents, grid. */
export function weightGradGeometry(c: ConvDims, tile: { tm: number; tn: number }) {
  const C4 = Math.ceil(c.Cin / 4), N4 = c.KH * c.KW * C4;
  const { Hp, Wp } = paddedGeometry({ Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, pad: c.p }, tile);
  const N4p = Math.ceil(N4 / (2 * tile.tn)) * (2 * tile.tn); // 8 lanes × tn/4 texels per workgroup
  const Mp = Math.ceil(c.Cout / tile.tm) * tile.tm, K4 = Math.ceil((c.B * c.Ho * c.Wo) / 4);
  return { C4, N4, Hp, Wp, N4p, Mp, K4, gx: N4p / (2 * tile.tn), gyN: Mp / tile.tm };
}

// ------------------------------------------------------------------ im2col + texture GEMM: rules

/** Tile for a GEMM with N output columns: 8-lane workgroups cover 8·tn columns. */
export function im2colTile(N: number): TexTile {
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

/**
 * The texture GEMM's tile for the im2col path of a forward, input gradient or weight gradient, or
 * null where that path is not worthwhile or does not fit.
 */
export function planIm2col(d: Device, kind: 'forward' | 'input' | 'weight', c: ConvDims): TexTile | null {
  const [M, K, N, channels, hw, maxHw] =
    kind === 'forward' ? [c.B * c.Ho * c.Wo, c.Cin * c.KH * c.KW, c.Cout, c.Cout, c.Ho * c.Wo, 256]
    : kind === 'input' ? [c.B * c.H * c.W, c.Cout * c.KH * c.KW, c.Cin, c.Cin, c.H * c.W, 256]
    // weight gradient: won ×1.6–2 at 7×7 128→128 but lost slightly at B64 14×14 64→64
    : [c.Cout, c.B * c.Ho * c.Wo, c.Cin * c.KH * c.KW, c.Cout, c.Ho * c.Wo, 64];
  const tile = im2colTile(N);
  if (!convTexWorthwhile(d, M, N, K, channels, hw, maxHw) || !texGemmFits(d, { M, N, K, batch: 1, tile }, 1, 1)) return null;
  return tile;
}

// ------------------------------------------------------------------ the plan

/** What one convolution (or gradient) call runs. */
export type ConvPlan = { op: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight'; dims: ConvDims } & (
  | { algorithm: 'implicit'; tile: ImplicitTile; pack: 'nhwc4' | 'nhwc4_px' }
  | { algorithm: 'implicit'; weightGrad: WeightGradPlan; pack: 'nhwc4' | 'nhwc4_px' }
  | { algorithm: 'im2col'; tile: TexTile }
  | { algorithm: 'direct'; config: Conv2dConfig }
);

const OPS = { forward: 'conv2d', input: 'conv2dBackwardInput', weight: 'conv2dBackwardWeight' } as const;

/**
 * The kernel for a conv2d forward, input gradient or weight gradient of dims c on d. `config`
 * overrides the direct kernel's configuration; `gyPacked` (weight gradient) is the geometry of gy's
 * texture that the input gradient of the same conv left, if any.
 */
export function planConv2d(
  d: Device, kind: 'forward' | 'input' | 'weight', c: ConvDims, o: { config?: Partial<Conv2dConfig>; gyPacked?: PaddedGeometry | null } = {},
): ConvPlan {
  const base = { op: OPS[kind], dims: c };
  const pack = d.policy.implicitPack;
  const square = c.KH === c.KW; // the input gradient's texture paths take square kernels
  if (kind === 'weight') {
    const w = c.B * c.Cin * c.Cout * c.H * c.W > 0 ? planImplicitWeight(d, c, o.gyPacked ?? null) : null;
    if (w) return { ...base, algorithm: 'implicit', weightGrad: w, pack };
  } else if (kind === 'forward' || square) {
    const t = planImplicit(d, kind, c);
    if (t) return { ...base, algorithm: 'implicit', tile: t, pack };
  }
  if (kind !== 'input' || square) {
    const t = planIm2col(d, kind, c);
    if (t) return { ...base, algorithm: 'im2col', tile: t };
  }
  const config: Conv2dConfig = kind === 'weight'
    ? { tp: o.config?.tp ?? 4, tc4: 1, wg: o.config?.wg ?? (d.caps.cpu ? 8 : 64) }
    : { ...defaultConv2dConfig(d, kind === 'forward' ? { C: c.Cout, Wo: c.Wo } : { C: c.Cin, Wo: c.W }), ...o.config };
  return { ...base, algorithm: 'direct', config };
}

/** One line describing a plan, e.g. 'conv2d B64 16→32 28×28 k3 s1: implicit block 7x7 (pack nhwc4_px)'. */
export function formatConvPlan(p: ConvPlan): string {
  const c = p.dims;
  const what = `${p.op} B${c.B} ${c.Cin}→${c.Cout} ${c.H}×${c.W} k${c.KH} s${c.s}`;
  let how: string;
  if (p.algorithm === 'direct') how = `direct tp${p.config.tp} tc4 ${p.config.tc4} wg${p.config.wg}`;
  else if (p.algorithm === 'im2col') how = `im2col + texture GEMM ${p.tile.tm}x${p.tile.tn}`;
  else if ('weightGrad' in p) how = `implicit ${p.weightGrad.tile.tm}x${p.weightGrad.tile.tn} gy ${p.weightGrad.nhwc ? 'nhwc4' : 'nchw_t'} splits ${p.weightGrad.splits} (pack ${p.pack})`;
  else how = `implicit ${'block' in p.tile ? `block ${p.tile.block}` : `strip ${p.tile.tm}x${p.tile.tn}`} (pack ${p.pack})`;
  return `${what}: ${how}`;
}
