// The autotuner: does the tuned choice beat the default? Matmul configurations at the models'
// shapes, and the implicit-GEMM conv's tile at the U-Net's (CPU adapters; elsewhere the path is
// off), each re-timed against the default in this run so a cached choice is judged on today's numbers.
import { Tensor } from '../../tensor/tensor.js';
import { matmul } from '../../tensor/ops/matmul.js';
import { conv2dImplicitForward } from '../../tensor/ops/conv2d_implicit.js';
import { defaultImplicitTile, type ImplicitTile } from '../../tensor/ops/conv2d_plan.js';
import { defaultMatmulConfig } from '../../tensor/ops/matmul_plan.js';
import { DEFAULT_TEX_TILE } from '../../tensor/ops/matmul_tex.js';
import { tuneMatmul, tuneConv } from '../autotune.js';
import { timeOp } from '../timing.js';
import { rnd, type BenchGroup } from '../group.js';

export const autotuneGroup: BenchGroup = {
  name: 'autotune',
  ceilings: true,
  async run({ device, quick, add }) {
    const probs = [
      { name: 'mlp hidden 1024·128→128', M: 1024, N: 128, K: 128, batch: 1, transA: false, transB: false },
      { name: 'mlp hidden dW (TN)', M: 128, N: 128, K: 1024, batch: 1, transA: true, transB: false },
      ...(quick ? [] : [
        { name: 'matmul 1024', M: 1024, N: 1024, K: 1024, batch: 1, transA: false, transB: false },
        { name: 'unet attn proj', M: 49, N: 128, K: 128, batch: 64, transA: false, transB: false },
        { name: 'unet attn QKᵀ (NT)', M: 49, N: 49, K: 128, batch: 64, transA: false, transB: true },
      ]),
    ];
    for (const q of probs) {
      const r = await tuneMatmul(device, q, { reps: quick ? 2 : 3, targetMs: quick ? 15 : 30 });
      // re-time both in this run, so a cached choice is judged on today's numbers
      const pre = q.batch > 1 ? [q.batch] : [];
      const a = rnd(device, [...pre, ...(q.transA ? [q.K, q.M] : [q.M, q.K])]);
      const b = rnd(device, [...pre, ...(q.transB ? [q.N, q.K] : [q.K, q.N])], 0.5, 1);
      const def = defaultMatmulConfig(device, q);
      const td = await timeOp(device, () => void matmul(a, b, { transA: q.transA, transB: q.transB, config: def }), { reps: 5, targetMs: 40 });
      const tt = await timeOp(device, () => void matmul(a, b, { transA: q.transA, transB: q.transB, config: r.config }), { reps: 5, targetMs: 40 });
      a.dispose();
      b.dispose();
      const flops = 2 * q.batch * q.M * q.N * q.K;
      const c = r.config;
      add({
        group: 'autotune', name: `${q.name} tuned`, shape: `${q.batch > 1 ? q.batch + '×' : ''}${q.M}x${q.N}x${q.K}`, ms: tt.medianMs, gflops: flops / tt.medianMs / 1e6,
        defaultMs: td.medianMs, defaultConfig: def, tunedConfig: c, speedup: td.medianMs / tt.medianMs, cached: r.cached, candidates: r.tried,
        note: describeTuned(c, def, td.medianMs / tt.medianMs, r.cached),
      });
    }
    // the implicit-GEMM conv's tile at the U-Net's shapes (CPU adapters; elsewhere the path is off)
    const cb = quick ? 8 : 64;
    for (const [C, H] of [[32, 28], [64, 14], [128, 7]]) {
      const dims = { B: cb, Cin: C, H, W: H, Cout: C, KH: 3, KW: 3, Ho: H, Wo: H, s: 1, p: 1 };
      const r = await tuneConv(device, dims, 'forward', { reps: quick ? 2 : 3, targetMs: quick ? 15 : 30 });
      if (!r) continue;
      const x = rnd(device, [cb, C, H, H]), w = rnd(device, [C, C, 3, 3], 0.1, 1);
      const q = { B: cb, Rc: C, N: C, Ho: H, Wo: H, KH: 3, KW: 3, stride: 1, dil: 1 };
      const def = defaultImplicitTile(q);
      const time = (tile: ImplicitTile) => timeOp(device, () => device.scope(() => void conv2dImplicitForward(device, x, w, Tensor.empty(device, [cb, C, H, H]), dims, {}, tile)), { reps: 5, targetMs: 40 });
      const td = await time(def), tt = await time(r.tile);
      x.dispose();
      w.dispose();
      const name = (t: ImplicitTile) => ('block' in t ? `block ${t.block}` : `strip ${t.tm}x${t.tn}`);
      add({
        group: 'autotune', name: `conv ${H}×${H}·${C} forward tuned`, shape: `B${cb}×${C}×${H}×${H} 3×3 p1`, ms: tt.medianMs,
        gflops: (2 * cb * C * C * 9 * H * H) / tt.medianMs / 1e6, defaultMs: td.medianMs, speedup: td.medianMs / tt.medianMs, cached: r.cached, candidates: r.tried,
        note: name(r.tile) === name(def)
          ? `the default (${name(def)}) itself: ×${(td.medianMs / tt.medianMs).toFixed(2)} (timing noise)${r.cached ? ' (cached choice)' : ''}`
          : `${name(r.tile)} vs default ${name(def)}: ×${(td.medianMs / tt.medianMs).toFixed(2)}${r.cached ? ' (cached choice)' : ''}`,
      });
    }
  },
};

/** The autotune row's note: what was chosen against the default, and the re-timed ratio. */
function describeTuned(c: MatmulLikeConfig, def: MatmulLikeConfig, ratio: number, cached: boolean): string {
  // the texture variant's tile is DEFAULT_TEX_TILE whatever tm/tn the config carries
  const name = (k: MatmulLikeConfig) => (k.variant === 'texture' ? `texture ${DEFAULT_TEX_TILE.tm}x${DEFAULT_TEX_TILE.tn}` : `${k.variant} ${k.tm}x${k.tn} wg${k.wgx}x${k.wgy}`);
  const same = name(c) === name(def);
  return `${same ? `the default (${name(def)}) itself` : `${name(c)} vs default ${name(def)}`}: ×${ratio.toFixed(2)}${same ? ' (timing noise)' : ''}${cached ? ' (cached choice)' : ''}`;
}

type MatmulLikeConfig = { variant: string; tm: number; tn: number; wgx: number; wgy: number };
