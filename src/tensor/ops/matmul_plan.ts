// The matmul's kernel choice, made in one place: planMatmul turns a problem (shapes, transposes,
// batch broadcast), the adapter's capabilities, the device's policy (an autotuner's chooser) and a
// caller's override into a plan — data: the kernel variant and its tile — that matmul() runs and
// that tests and `scoregpu bench --plans` print. defaultMatmulConfig is the hand-picked rule.
import type { Device } from '../../gpu/device.js';
import { DEFAULT_TEX_TILE, texGemmFits, texWorthwhile, type TexTile } from './matmul_tex.js';

export interface MatmulConfig {
  /** 'vec4': aligned vec4 loads (needs the contiguous dims to be multiples of 4); 'scalar': any shape;
   *  'subgroup': 'vec4' sharing A's fragment across the 8 lanes by subgroupBroadcast (tm 8, wgx 8,
   *  wgy 1; only where Device.caps.subgroups); 'small': shaders/matmul_small.wgsl for N ≤ 8, K ≤ 8 or M ≤ 8
   *  (matmul_small.ts; tile fields ignored). */
  /** 'texture': operands packed into rgba32float textures, A shared across the subgroup
   *  (matmul_tex.ts; its own tiles, any shape; only where Device.caps.subgroups). */
  variant: 'texture' | 'vec4' | 'scalar' | 'subgroup' | 'small';
  /** Rows × columns of C per invocation (4 or 8 each). */
  tm: 4 | 8;
  tn: 4 | 8;
  /** Workgroup shape: invocations along N and along M. */
  wgx: number;
  wgy: number;
}

/** Problem description handed to the config chooser. */
export interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
}

/** Whether the aligned vec4 kernel can run this problem (N and both operands' contiguous dims multiples of 4). */
export function vec4Aligned(q: MatmulProblem): boolean {
  const aContig = q.transA ? q.M : q.K;
  const bContig = q.transB ? q.K : q.N;
  return aContig % 4 === 0 && bContig % 4 === 0 && q.N % 4 === 0 && q.M >= 4;
}

/** The hand-picked configuration; an autotuner may replace this function's choice per shape. */
export function defaultMatmulConfig(device: Device, q: MatmulProblem): MatmulConfig {
  if (smallMatmulKind(q)) return { variant: 'small', tm: 4, tn: 4, wgx: 8, wgy: 1 };
  const variant = vec4Aligned(q) ? 'vec4' : 'scalar';
  // Small outputs: smaller tiles keep more invocations busy.
  const tm: 4 | 8 = q.M >= 64 ? 8 : 4;
  const tn: 4 | 8 = q.N >= 64 ? 8 : 4;
  if (device.caps.cpu) {
    // lavapipe: the texture GEMM beats the buffer kernels once the GEMM outweighs its packing passes.
    if (device.caps.subgroups && texWorthwhile(q)) return { variant: 'texture', tm, tn, wgx: 8, wgy: 1 };
    // lavapipe: sharing A across the 8 lanes by subgroup broadcast measured ~2× the plain vec4 kernel.
    if (variant === 'vec4' && q.M >= 8 && device.caps.subgroups) return { variant: 'subgroup', tm: 8, tn: 4, wgx: 8, wgy: 1 };
    return { variant, tm, tn, wgx: 8, wgy: 1 };
  }
  return { variant, tm, tn, wgx: 8, wgy: 8 };
}

/** 'rows': N ≤ 8 (lanes own rows of C); 'outer': K ≤ 8 (lanes own 4-column strips); 'cols': M ≤ 8
 *  (the transposed problem Cᵀ = op(B)ᵀ·op(A)ᵀ run as 'rows'); null: not a small shape. */
export type SmallKind = 'rows' | 'outer' | 'cols';

/** The shapes shaders/matmul_small.wgsl serves (matmul_small.ts). */
export function smallMatmulKind(q: MatmulProblem): SmallKind | null {
  if (q.N <= 8) return 'rows';
  if (q.K <= 8) return 'outer';
  if (q.M <= 8) return 'cols';
  return null;
}

declare module '../../gpu/policy.js' {
  interface KernelChoosers {
    /** A configuration in place of defaultMatmulConfig's (autotuner), or undefined for the default. */
    matmul?: (device: Device, q: MatmulProblem) => MatmulConfig | undefined;
  }
}

/** What matmul runs for one call. */
export interface MatmulPlan {
  op: 'matmul';
  problem: MatmulProblem;
  /** The kernel configuration after every adjustment (variant, register tile, workgroup). */
  config: MatmulConfig;
  /** The texture GEMM's tile (variant 'texture'). */
  texTile?: TexTile;
  /** The small kernel's kind (variant 'small'). */
  small?: SmallKind;
}

/**
 * The kernel for problem q on d: the policy's chooser's configuration or the default rule's, with
 * `override` fields on top, then adjusted to what can run — the texture GEMM only with usable
 * subgroups and within the texture limits (nA / nB: batches stored in A / B), the small kernels
 * only for small shapes, the subgroup variant only with subgroups (and its fixed tile), the vec4
 * kernels only for aligned operands; each falls back to vec4, then to scalar.
 */
export function planMatmul(device: Device, q: MatmulProblem, nA: number, nB: number, override: Partial<MatmulConfig> = {}): MatmulPlan {
  const cfg = { ...(device.policy.choosers.matmul?.(device, q) ?? defaultMatmulConfig(device, q)), ...override };
  if (cfg.variant === 'texture') {
    if (device.caps.subgroups && texGemmFits(device, { M: q.M, N: q.N, K: q.K, batch: q.batch, tile: DEFAULT_TEX_TILE }, nA, nB)) {
      return { op: 'matmul', problem: q, config: cfg, texTile: DEFAULT_TEX_TILE };
    }
    cfg.variant = 'vec4';
  }
  const small = smallMatmulKind(q);
  if (cfg.variant === 'small' && small) return { op: 'matmul', problem: q, config: cfg, small };
  if (cfg.variant === 'small') cfg.variant = 'vec4';
  if (cfg.variant === 'subgroup' && !device.caps.subgroups) cfg.variant = 'vec4';
  if (cfg.variant !== 'scalar' && !vec4Aligned(q)) cfg.variant = 'scalar';
  if (cfg.variant === 'subgroup') Object.assign(cfg, { tm: 8, wgx: 8, wgy: 1 });
  return { op: 'matmul', problem: q, config: cfg };
}

/** One line describing a plan, e.g. 'matmul 64×[49, 32]·[32, 32]ᵀ: subgroup 8x4 wg 8×1'. */
export function formatMatmulPlan(p: MatmulPlan): string {
  const q = p.problem, c = p.config;
  const what = `matmul ${q.batch > 1 ? `${q.batch}×` : ''}[${q.M}, ${q.K}]${q.transA ? 'ᵀ' : ''}·[${q.K}, ${q.N}]${q.transB ? 'ᵀ' : ''}`;
  const how = p.texTile ? `texture GEMM ${p.texTile.tm}x${p.texTile.tn}` : p.small ? `small (${p.small})` : `${c.variant} ${c.tm}x${c.tn} wg ${c.wgx}×${c.wgy}`;
  return `${what}: ${how}`;
}
