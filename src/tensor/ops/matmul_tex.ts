// Texture GEMM (shaders/matmul_tex.wgsl) for CPU adapters: operands are packed into rgba32float
// scratch textures (shaders/tex_pack.wgsl: plain matrices with transposes, or im2col for
// convolutions), then one kernel reads them with textureLoad and shares A across the 8 lanes of a
// subgroup. Needs the `subgroups` feature with subgroups of at least 8 lanes; callers check that
// (Device.caps.subgroups) and fall back to the buffer kernels when `texGemmFits` says no.
import source from '../../../shaders/matmul_tex.wgsl';
import type { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { LOG_TW, PACK_WG, maxTexels, packTexture } from './tex_pack.js';

export interface TexTile {
  /** Rows of C per workgroup (8, 16, 24 or 32). */
  tm: number;
  /** Columns of C per lane (4 or 8). */
  tn: number;
  /** true: the explicit entry main{tm}x{tn} (16x4, 32x4, 16x8, 8x8, 32x8, 8x16, 16x16); false: the generic loops (tm multiple of 8, tn 4 or 8). */
  explicit?: boolean;
}
/**
 * 32 rows × 8 columns a lane: per k4 step 4 A and 8 B texel fetches for 1024 FMAs a lane (16×8:
 * 10 for 512). Interleaved on lavapipe: ×1.05–1.09 over 16×8 at 512² and 1024², ×1.3 at 2048², ×1.27
 * at the U-Net's [3136, 128]·[128, 128], equal at its batched 64 × [49, 128]·[128, 128].
 */
export const DEFAULT_TEX_TILE: TexTile = { tm: 32, tn: 8, explicit: true };


const ceil = (a: number, b: number) => Math.ceil(a / b) * b;

export interface GemmGeometry {
  M: number;
  N: number;
  K: number;
  /** Output batches (grid z). */
  batch: number;
  tile: TexTile;
}

export function texGeometry(g: GemmGeometry) {
  const { tm, tn } = g.tile;
  const Mp = ceil(g.M, tm), K4 = Math.ceil(g.K / 4), Np = ceil(g.N, 8 * tn);
  return { Mp, K4, Kp: 4 * K4, N4p: Np / 4, gx: Np / (8 * tn), gy: Mp / tm };
}

/** Whether the texture GEMM can run this problem on this device (texture and dispatch limits). */
export function texGemmFits(d: Device, g: GemmGeometry, nA: number, nB: number): boolean {
  const t = texGeometry(g);
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  const packs = (n: number) => Math.ceil(n / PACK_WG);
  const aTexels = nA * t.Mp * t.K4, bTexels = nB * t.Kp * t.N4p;
  return (
    aTexels <= maxTexels(d) && bTexels <= maxTexels(d) && t.gx <= maxWg && t.gy <= maxWg && g.batch <= maxWg &&
    packs(aTexels) <= maxWg * maxWg && packs(bTexels) <= maxWg * maxWg
  );
}


export interface GemmArgs extends GemmGeometry {
  /** Texels per A / B batch in the packed textures (0 when that side broadcasts). */
  ta: number;
  tb: number;
  bias?: Tensor;
  act?: number;
  /** 0: out [batch, M, N]; 1: conv NCHW with rows = (image, pixel) and hw pixels per image. */
  outMode?: 0 | 1;
  hw?: number;
}

/** C = act(A·B + bias) from packed textures (A: [Mp, K4] texels per batch, B: [Kp, N4p]). */
export function gemmTex(d: Device, viewA: GPUTextureView, viewB: GPUTextureView, out: Tensor, g: GemmArgs): void {
  const t = texGeometry(g);
  d.run(
    {
      file: 'matmul_tex.wgsl', source, entry: g.tile.explicit ? `main${g.tile.tm}x${g.tile.tn}` : 'main',
      constants: { TM: g.tile.tm, TN: g.tile.tn, LOG_TW, HAS_BIAS: g.bias ? 1 : 0, ACT: g.act ?? 0, OUT_MODE: g.outMode ?? 0 },
    },
    {
      ta: viewA, tb: viewB, bias: g.bias ?? d.dummy, out,
      p: { M: g.M, N: g.N, K4: t.K4, N4p: t.N4p, ta: g.ta, tb: g.tb, so: g.M * g.N, hw: g.hw ?? 1 },
    },
    [t.gx, t.gy, g.batch],
  );
}

/**
 * Batched C = act(op(A)·op(B) + bias) into `out` [batch, M, N]. nA / nB: batches stored in a / b
 * (1 = broadcast). The caller checked shapes and texGemmFits.
 */
export function matmulTex(
  a: Tensor, b: Tensor, out: Tensor,
  q: { M: number; N: number; K: number; batch: number; transA: boolean; transB: boolean; nA: number; nB: number },
  opts: { bias?: Tensor; act?: number; tile?: TexTile } = {},
): void {
  const d = a.device;
  const tile = opts.tile ?? DEFAULT_TEX_TILE;
  const g: GemmGeometry = { M: q.M, N: q.N, K: q.K, batch: q.batch, tile };
  const t = texGeometry(g);
  const nA = q.nA === 1 ? 1 : q.batch, nB = q.nB === 1 ? 1 : q.batch;
  // A as [M, K] (stored [K, M] with transA), B as [K, N] (stored [N, K] with transB).
  const va = packTexture(d, 'pack', a, 'A', { R: q.M, C: q.K, Rp: t.Mp, C4p: t.K4, nb: nA, sstride: q.M * q.K, trans: q.transA });
  const vb = packTexture(d, 'pack', b, 'B', { R: q.K, C: q.N, Rp: t.Kp, C4p: t.N4p, nb: nB, sstride: q.K * q.N, trans: q.transB });
  gemmTex(d, va, vb, out, {
    ...g, ta: nA === 1 ? 0 : t.Mp * t.K4, tb: nB === 1 ? 0 : t.Kp * t.N4p, bias: opts.bias, act: opts.act,
  });
}

/** Whether the texture GEMM is expected to beat the buffer kernels (lavapipe measurements). */
export function texWorthwhile(q: { M: number; N: number; K: number; batch: number }): boolean {
  return q.M >= 16 && q.N >= 16 && q.K >= 16 && q.batch * q.M * q.N * q.K >= 1 << 22;
}
