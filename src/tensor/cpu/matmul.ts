// Float64 reference for batched matmul with transposes, broadcast batch, bias and activation.
import type { MatmulAct } from '../ops/matmul.js';

export interface MatmulRefOpts {
  transA?: boolean;
  transB?: boolean;
  bias?: ArrayLike<number>;
  act?: MatmulAct;
}

/**
 * out[b, m, n] = act(Σ_k A[b, m, k]·B[b, k, n] + bias[n]), in float64.
 * a has shape [...batchA, M, K] ([..., K, M] with transA); b has [...batchB, K, N] ([..., N, K] with transB).
 * Batch dims are flattened; a batch of 1 (or none) broadcasts against the other side.
 */
export function matmulRef(
  a: ArrayLike<number>, aShape: readonly number[],
  b: ArrayLike<number>, bShape: readonly number[],
  opts: MatmulRefOpts = {},
): { data: Float64Array; shape: number[] } {
  const ra = aShape.length, rb = bShape.length;
  const [M, K] = opts.transA ? [aShape[ra - 1], aShape[ra - 2]] : [aShape[ra - 2], aShape[ra - 1]];
  const [K2, N] = opts.transB ? [bShape[rb - 1], bShape[rb - 2]] : [bShape[rb - 2], bShape[rb - 1]];
  if (K !== K2) throw new Error(`matmulRef: inner dimensions differ (${K} vs ${K2})`);
  const batchA = aShape.slice(0, -2), batchB = bShape.slice(0, -2);
  const nA = batchA.reduce((x, y) => x * y, 1), nB = batchB.reduce((x, y) => x * y, 1);
  const batch = Math.max(nA, nB);
  const outBatch = nA >= nB ? batchA : batchB;
  const out = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++) {
    const oa = (nA === 1 ? 0 : bi) * M * K, ob = (nB === 1 ? 0 : bi) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = opts.transA ? a[oa + k * M + m] : a[oa + m * K + k];
          const bv = opts.transB ? b[ob + n * K + k] : b[ob + k * N + n];
          s += av * bv;
        }
        if (opts.bias) s += opts.bias[n];
        out[bi * M * N + m * N + n] = actRef(opts.act ?? 'none', s);
      }
    }
  }
  return { data: out, shape: [...outBatch, M, N] };
}

export function actRef(act: string, x: number): number {
  if (act === 'silu') return x / (1 + Math.exp(-x));
  if (act === 'relu') return Math.max(x, 0);
  return x;
}
