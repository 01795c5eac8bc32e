// Batched matmul with transposes, broadcast batch and a fused bias + activation epilogue
// (shaders/matmul.wgsl when every operand is vec4-aligned, shaders/matmul_scalar.wgsl otherwise).
// Which kernel runs is planMatmul's choice (matmul_plan.ts); this file checks shapes and runs it.
import vec4Part from '../../../shaders/matmul.wgsl';
import scalarPart from '../../../shaders/matmul_scalar.wgsl';
import subgroupPart from '../../../shaders/matmul_subgroup.wgsl';
import paramsPart from '../../../shaders/matmul_params.wgsl';
import vec4Bindings from '../../../shaders/matmul_vec4_bindings.wgsl';
import vec4Head from '../../../shaders/matmul_vec4_head.wgsl';
import vec4Steps from '../../../shaders/matmul_vec4_steps.wgsl';
import { matmulTex } from './matmul_tex.js';
import { matmulSmall } from './matmul_small.js';
import { planMatmul, type MatmulConfig, type MatmulProblem } from './matmul_plan.js';
import { Tensor, sameDevice } from '../tensor.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { spliceParts } from './wgsl_parts.js';

// WGSL has no includes: the kernels share their header by concatenation (a file with `enable`
// directives goes first), and the two vec4 kernels their bindings, the start and the end of their
// main function by splicing (wgsl_parts.ts).
const PARTS: Record<string, string> = { 'matmul_vec4_bindings.wgsl': vec4Bindings, 'matmul_vec4_head.wgsl': vec4Head, 'matmul_vec4_steps.wgsl': vec4Steps };
const splice = (part: string) => spliceParts('matmul.ts', part, PARTS);
const source = `${splice(vec4Part)}\n${paramsPart}`;
const subgroupSource = `${splice(subgroupPart)}\n${paramsPart}`;
const scalarSource = `${scalarPart}\n${paramsPart}`;

export type MatmulAct = 'none' | 'silu' | 'relu';
export const ACT_CODE: Record<MatmulAct, number> = { none: 0, silu: 1, relu: 2 };

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  act?: MatmulAct;
  out?: Tensor;
  /** Override the kernel configuration (autotuning); fields left out take the default. */
  config?: Partial<MatmulConfig>;
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
  const plan = planMatmul(device, q, nA, nB, opts.config);
  device.policy.observe?.(plan);
  const cfg = plan.config;
  if (plan.texTile) {
    matmulTex(a, b, o, { M, N, K, batch, transA, transB, nA, nB }, { bias: opts.bias, act: ACT_CODE[opts.act ?? 'none'], tile: plan.texTile });
    return o;
  }
  const sa = nA === 1 ? 0 : M * K, sb = nB === 1 ? 0 : K * N;
  if (plan.small) {
    matmulSmall(device, { a, b, out: o, bias: opts.bias, act: ACT_CODE[opts.act ?? 'none'], q, sa, sb });
    return o;
  }
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
