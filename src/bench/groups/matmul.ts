// Matmul rows: square sizes (the target rows, two passes in full mode) and the models' own shapes
// in each form their forward and backward use (NN, TN = Aᵀ·B, NT = A·Bᵀ), with peers where asked.
import { matmul } from '../../tensor/ops/matmul.js';
import { timeOp } from '../timing.js';
import { randTf } from '../peers.js';
import { rnd, type BenchEntry, type BenchGroup } from '../group.js';

export const matmulGroup: BenchGroup = {
  name: 'matmul',
  ceilings: true,
  peers: true,
  async run({ device, quick, passes, add, bestOf, onPeers }) {
    const reps = quick ? 3 : 5;
    const sizes = quick ? [256, 512, 1024] : [256, 512, 1024, 2048];
    const square: BenchEntry[] = [];
    for (let pass = 0; pass < passes; pass++) {
      for (const [i, n] of sizes.entries()) {
        const a = rnd(device, [n, n]), b = rnd(device, [n, n], 0.5, 1);
        const flops = 2 * n ** 3;
        const t = await timeOp(device, () => void matmul(a, b), { reps: n >= 2048 ? 3 : reps, targetMs: quick ? 40 : 100 });
        const e = (square[i] = bestOf(square[i], { group: 'matmul', name: `matmul ${n}`, shape: `${n}x${n}x${n}`, ms: t.medianMs }, flops));
        if (!quick || n >= 512) {
          await onPeers(e, (tf) => {
            const A = randTf(tf, [n, n]), B = randTf(tf, [n, n]);
            return { run: () => tf.matMul(A, B), dispose: () => (A.dispose(), B.dispose()) };
          }, { flops, reps: n >= 2048 ? 2 : undefined });
        }
        a.dispose();
        b.dispose();
      }
    }
    square.forEach(add);
    // The models' own shapes, each in the forms its forward and backward use (NN, TN = Aᵀ·B, NT = A·Bᵀ).
    const Bu = 64;
    const problems: { name: string; batch: number; bBatched: boolean; M: number; N: number; K: number }[] = [
      { name: 'mlp in 1024·2→128', batch: 1, bBatched: false, M: 1024, N: 128, K: 2 },
      { name: 'mlp hidden 1024·128→128', batch: 1, bBatched: false, M: 1024, N: 128, K: 128 },
      { name: 'mlp out 1024·128→2', batch: 1, bBatched: false, M: 1024, N: 2, K: 128 },
      { name: 'unet temb 64·128→128', batch: 1, bBatched: false, M: Bu, N: 128, K: 128 },
      { name: 'unet attn proj', batch: Bu, bBatched: false, M: 49, N: 128, K: 128 },
      { name: 'unet attn QKᵀ', batch: Bu, bBatched: true, M: 49, N: 49, K: 128 },
      { name: 'unet attn PV', batch: Bu, bBatched: true, M: 49, N: 128, K: 49 },
    ];
    for (const q of problems) {
      for (const form of ['NN', 'TN', 'NT'] as const) {
        const transA = form === 'TN', transB = form === 'NT';
        const pre = q.batch > 1 ? [q.batch] : [];
        const a = rnd(device, [...pre, ...(transA ? [q.K, q.M] : [q.M, q.K])]);
        const b = rnd(device, [...(q.bBatched ? pre : []), ...(transB ? [q.N, q.K] : [q.K, q.N])], 0.5, 1);
        const flops = 2 * q.batch * q.M * q.N * q.K;
        const t = await timeOp(device, () => void matmul(a, b, { transA, transB }), { reps, targetMs: quick ? 20 : 60 });
        const e: BenchEntry = {
          group: 'matmul', name: `${q.name} ${form}`, shape: `${q.batch > 1 ? q.batch + '×' : ''}${q.M}x${q.N}x${q.K}`, ms: t.medianMs, gflops: flops / t.medianMs / 1e6,
        };
        if (form === 'NN' && (!quick || q.name.includes('hidden') || q.name.includes('proj'))) {
          await onPeers(e, (tf) => {
            const A = randTf(tf, a.shape as number[]), B = randTf(tf, b.shape as number[]);
            return { run: () => tf.matMul(A, B), dispose: () => (A.dispose(), B.dispose()) };
          }, { flops });
        }
        add(e);
        a.dispose();
        b.dispose();
      }
    }
  },
};
