// Small and skinny matmuls (shaders/matmul_small.wgsl): narrow outputs (N ≤ 8), tiny reductions
// (K ≤ 8) and short outputs (M ≤ 8, e.g. weight gradients [B,2]ᵀ·[B,H]). `matmul` (matmul.ts)
// hands a problem here when its config says variant 'small'; `smallMatmulKind` says which shapes fit.
import source from '../../../shaders/matmul_small.wgsl';
import outerPart from '../../../shaders/matmul_outer.wgsl';
import paramsPart from '../../../shaders/matmul_params.wgsl';
import { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { smallMatmulKind, type MatmulProblem } from './matmul_plan.js';

/** matmul_outer.wgsl completed by the buffer matmuls' shared header. */
const outerSource = `${outerPart}\n${paramsPart}`;
const WG = 8;
const TMO = 16;

export interface SmallMatmulArgs {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  bias?: Tensor;
  act: number;
  q: MatmulProblem;
  /** per-batch element strides of A and B (0 when that side broadcasts) */
  sa: number;
  sb: number;
  /** force a reduction split count (tests); default: chosen from the shape */
  split?: number;
}

/** Run a small-shape matmul; returns false when `smallMatmulKind` says the shape does not fit. */
export function matmulSmall(device: Device, args: SmallMatmulArgs): boolean {
  const { a, b, out, bias, act, q, sa, sb } = args;
  const kind = smallMatmulKind(q);
  if (!kind) return false;
  const { M, N, K, batch, transA, transB } = q;
  const common = { HAS_BIAS: bias ? 1 : 0, ACT: act, WG };
  const biasB = bias ?? device.dummy;

  if (kind === 'outer' && N % 4 === 0) {
    device.run(
      { file: 'matmul_outer.wgsl', source: outerSource, entry: 'main', constants: { ...common, TMO, TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 } },
      { a, b, bias: biasB, out, p: { M, N, K, sa, sb, so: M * N } },
      [Math.ceil(N / (4 * WG)), Math.ceil(M / TMO), batch],
    );
    return true;
  }
  if (kind === 'outer') {
    device.run(
      { file: 'matmul_small.wgsl', source, entry: 'outer', constants: { ...common, TMO, TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 } },
      { xv: device.dummy, xs: b, ys: a, bias: biasB, out, p: { R: M, J: N, K, kc: 0, sx: sb, sy: sa, so: M * N, nz: batch } },
      [Math.ceil(N / (4 * WG)), Math.ceil(M / TMO), batch],
    );
    return true;
  }

  // C' = X'·Y' with C' [R, J]: X' owns the lanes, Y' is read uniformly.
  let x: Tensor, y: Tensor, R: number, J: number, xK: boolean, yKJ: boolean, sx: number, sy: number;
  if (kind === 'rows') {
    [x, y, R, J, sx, sy] = [a, b, M, N, sa, sb];
    xK = !transA; // A stored [M, K]
    yKJ = !transB; // B stored [K, N]
  } else {
    [x, y, R, J, sx, sy] = [b, a, N, M, sb, sa];
    xK = transB; // B stored [N, K] is X' = op(B)ᵀ stored [R, K]
    yKJ = transA; // A stored [K, M] is Y' = op(A)ᵀ stored [K, J]
  }
  const xvec = (xK ? K % 4 === 0 : R % 4 === 0) && K > 0;
  const gx = Math.ceil(R / (4 * WG));
  // Long reductions over few rows (weight gradients: K = batch): split K so both cores get work.
  let split = args.split ?? 1;
  if (args.split === undefined && K >= 256 && gx * batch < 32) split = Math.min(Math.ceil(32 / (gx * batch)), Math.floor(K / 128));
  let kc = Math.ceil(K / Math.max(1, split) / 4) * 4;
  split = Math.max(1, Math.ceil(K / kc));
  if (split === 1) kc = Math.max(4, Math.ceil(K / 4) * 4);
  if (gx * batch * split === 0) return true;
  const constants = {
    ...common, X_KCONTIG: xK ? 1 : 0, Y_KJ: yKJ ? 1 : 0, XVEC: xvec ? 1 : 0, JMAX: J <= 4 ? 4 : 8,
    OUT_T: kind === 'cols' ? 1 : 0, SPLIT: split > 1 ? 1 : 0,
  };
  const part = split > 1 ? Tensor.empty(device, [split * batch * R * J]) : null;
  device.run(
    { file: 'matmul_small.wgsl', source, entry: 'rows', constants },
    {
      xv: xvec ? x : device.dummy, xs: xvec ? device.dummy : x, ys: y, bias: biasB, out: part ?? out,
      p: { R, J, K, kc, sx, sy, so: M * N, nz: batch },
    },
    [gx, split, batch],
  );
  if (part) {
    const total = batch * R * J;
    const groups = Math.ceil(total / WG);
    const g0 = Math.min(groups, 65535);
    device.run(
      { file: 'matmul_small.wgsl', source, entry: 'reduce', constants: { ...common, OUT_T: kind === 'cols' ? 1 : 0 } },
      { xv: device.dummy, xs: device.dummy, ys: part, bias: biasB, out, p: { R, J, K, kc: split, sx: 0, sy: 0, so: M * N, nz: batch } },
      [g0, Math.ceil(groups / g0), 1],
    );
    part.dispose();
  }
  return true;
}
