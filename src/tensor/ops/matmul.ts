// Batched matmul with transposes, broadcast batch and a fused bias + activation epilogue
// (shaders/matmul.wgsl when every operand is vec4-aligned, shaders/matmul_scalar.wgsl otherwise).
// The kernel configuration (variant, register tile, workgroup shape) is a plain value so that an
// autotuner can choose it per adapter and shape; `defaultMatmulConfig` is the hand-picked choice.
import vec4Part from '../../../shaders/matmul.wgsl';
import scalarPart from '../../../shaders/matmul_scalar.wgsl';
import subgroupPart from '../../../shaders/matmul_subgroup.wgsl';
import paramsPart from '../../../shaders/matmul_params.wgsl';
import vec4Steps from '../../../shaders/matmul_vec4_steps.wgsl';
import { matmulTex, texGemmFits, texWorthwhile, DEFAULT_TEX_TILE } from './matmul_tex.js';
import { matmulSmall, smallMatmulKind } from './matmul_small.js';
import { Tensor, sameDevice } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';

// WGSL has no includes: the kernels share their header by concatenation (a file with `enable`
// directives goes first) and the vec4 kernels the end of their main function by splicing.
const spliceSteps = (part: string) => part.replace(/^ *\/\/! splice matmul_vec4_steps\.wgsl.*\n/m, () => vec4Steps.replace(/^(\/\/.*\n)+/, ''));
const source = `${spliceSteps(vec4Part)}\n${paramsPart}`;
const subgroupSource = `${spliceSteps(subgroupPart)}\n${paramsPart}`;
const scalarSource = `${scalarPart}\n${paramsPart}`;

export type MatmulAct = 'none' | 'silu' | 'relu';
export const ACT_CODE: Record<MatmulAct, number> = { none: 0, silu: 1, relu: 2 };

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

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  act?: MatmulAct;
  out?: Tensor;
  /** Override the kernel configuration (autotuning); fields left out take the default. */
  config?: Partial<MatmulConfig>;
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

declare module '../../gpu/policy.js' {
  interface KernelChoosers {
    /** A configuration in place of defaultMatmulConfig's (autotuner), or undefined for the default. */
    matmul?: (device: Device, q: MatmulProblem) => MatmulConfig | undefined;
  }
}

function matShape(name: string, t: Tensor, trans: boolean): { batch: number[]; rows: number; cols: number } {
  if (t.rank < 2) throw new ShapeError(`matmul: ${name} must have rank >= 2, got ${fmtShape(t.shape)}`);
  const r = t.rank;
  const rows = t.shape[r - 2], cols = t.shape[r - 1];
  return { batch: t.shape.slice(0, -2), rows: trans ? cols : rows, cols: trans ? rows : cols };
}

const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/**
 * C = act(op(A)·op(B) + bias). A: [..., M, K] ([..., K, M] with transA); B: [..., K, N]
 * ([..., N, K] with transB). Batch dims must be equal, or one side has none or batch 1 (it broadcasts).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const device = sameDevice('matmul', a, b);
  const transA = !!opts.transA, transB = !!opts.transB;
  const A = matShape('a', a, transA), B = matShape('b', b, transB);
  const both = `a ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} and b ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (A.cols !== B.rows) throw new ShapeError(`matmul: inner dimensions differ for ${both} (${A.cols} vs ${B.rows})`);
  const nA = prod(A.batch), nB = prod(B.batch);
  let outBatch: readonly number[];
  if (nA === 1 && nB === 1) outBatch = A.batch.length >= B.batch.length ? A.batch : B.batch;
  else if (nB === 1) outBatch = A.batch;
  else if (nA === 1) outBatch = B.batch;
  else if (A.batch.length === B.batch.length && A.batch.every((d, i) => d === B.batch[i])) outBatch = A.batch;
  else throw new ShapeError(`matmul: batch dimensions of ${both} do not match`);
  const M = A.rows, K = A.cols, N = B.cols;
  const batch = prod(outBatch);
  const shape = [...outBatch, M, N];
  if (opts.bias && (opts.bias.size !== N || opts.bias.rank !== 1)) {
    throw new ShapeError(`matmul: bias ${fmtShape(opts.bias.shape)} does not match N = ${N} of ${both}`);
  }
  const o = opts.out ?? Tensor.empty(device, shape);
  if (o.size !== prod(shape)) throw new ShapeError(`matmul: out ${fmtShape(o.shape)} does not fit result ${fmtShape(shape)} of ${both}`);
  if (o.size === 0) return o;

  const q: MatmulProblem = { M, N, K, batch, transA, transB };
  const cfg = { ...(device.policy.choosers.matmul?.(device, q) ?? defaultMatmulConfig(device, q)), ...opts.config };
  if (cfg.variant === 'texture') {
    if (device.caps.subgroups && texGemmFits(device, { M, N, K, batch, tile: DEFAULT_TEX_TILE }, nA, nB)) {
      matmulTex(a, b, o, { M, N, K, batch, transA, transB, nA, nB }, { bias: opts.bias, act: ACT_CODE[opts.act ?? 'none'] });
      return o;
    }
    cfg.variant = 'vec4';
  }
  const sa = nA === 1 ? 0 : M * K, sb = nB === 1 ? 0 : K * N;
  if (cfg.variant === 'small' && matmulSmall(device, { a, b, out: o, bias: opts.bias, act: ACT_CODE[opts.act ?? 'none'], q, sa, sb })) return o;
  if (cfg.variant === 'small') cfg.variant = 'vec4';
  if (cfg.variant === 'subgroup' && !device.caps.subgroups) cfg.variant = 'vec4';
  if (cfg.variant !== 'scalar' && !vec4Aligned(q)) cfg.variant = 'scalar';
  if (cfg.variant === 'subgroup') Object.assign(cfg, { tm: 8, wgx: 8, wgy: 1 });
  const [file, src] = cfg.variant === 'vec4' ? ['matmul.wgsl', source]
    : cfg.variant === 'subgroup' ? ['matmul_subgroup.wgsl', subgroupSource] : ['matmul_scalar.wgsl', scalarSource];
  device.run(
    {
      file,
      source: src,
      entry: 'main',
      constants: {
        TM: cfg.tm, TN: cfg.tn, WGX: cfg.wgx, WGY: cfg.wgy,
        TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0,
        HAS_BIAS: opts.bias ? 1 : 0, ACT: ACT_CODE[opts.act ?? 'none'],
      },
    },
    {
      a, b, bias: opts.bias ?? device.dummy, out: o,
      p: { M, N, K, sa: nA === 1 ? 0 : M * K, sb: nB === 1 ? 0 : K * N, so: M * N },
    },
    [Math.ceil(N / (cfg.tn * cfg.wgx)), Math.ceil(M / (cfg.tm * cfg.wgy)), batch],
  );
  return o;
}
