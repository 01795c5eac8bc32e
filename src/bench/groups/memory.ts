// Memory-bound kernels in GB/s: GroupNorm + SiLU at the U-Net's levels, the 7×7 attention core
// and its softmax, the fused Langevin step, the Adam update over the reference U-Net's parameters.
import { matmul } from '../../tensor/ops/matmul.js';
import { groupNorm } from '../../tensor/ops/norm.js';
import { softmax } from '../../tensor/ops/softmax.js';
import { langevinStep } from '../../tensor/ops/langevin.js';
import { adamStep, createOptimState } from '../../tensor/ops/optim.js';
import { groupsFor } from '../../nn/unet.js';
import { timeOp } from '../timing.js';
import { rnd, type BenchGroup } from '../group.js';

export const memoryGroup: BenchGroup = {
  name: 'memory',
  ceilings: true,
  async run({ device, quick, add }) {
    const B = 64;
    const reps = quick ? 3 : 5;
    for (const [C, H] of [[32, 28], [64, 14], [128, 7]]) {
      const x = rnd(device, [B, C, H, H]), gamma = rnd(device, [C], 0.1, 3), beta = rnd(device, [C], 0.1, 4);
      const G = groupsFor(C, 32);
      const t = await timeOp(device, () => void groupNorm(x, G, gamma, beta, 1e-6, { silu: true }), { reps, targetMs: quick ? 20 : 60 });
      const bytes = 2 * x.size * 4;
      add({ group: 'memory', name: `groupnorm+silu ${C}ch ${G}g`, shape: `${B}×${C}×${H}×${H}`, ms: t.medianMs, gbps: bytes / t.medianMs / 1e6 });
      x.dispose();
      gamma.dispose();
      beta.dispose();
    }
    {
      // attention core at the 7×7 level: softmax(QKᵀ)·V over 49 positions, 128 channels
      const L = 49, C = 128;
      const q = rnd(device, [B, L, C]), k = rnd(device, [B, L, C], 0.5, 1), v = rnd(device, [B, L, C], 0.5, 2);
      const t = await timeOp(device, () => void matmul(softmax(matmul(q, k, { transB: true }), -1), v), { reps, targetMs: quick ? 20 : 60 });
      const bytes = 4 * (3 * B * L * C + 3 * B * L * L + B * L * L + B * L * C); // q,k→S; S→P (r+w); P,v→O
      const flops = 2 * 2 * B * L * L * C;
      add({ group: 'memory', name: 'attention 7×7 (QKᵀ,softmax,PV)', shape: `${B}×${L}×${C}`, ms: t.medianMs, gbps: bytes / t.medianMs / 1e6, gflops_attn: flops / t.medianMs / 1e6 });
      const sc = rnd(device, [B, L, L], 2, 3);
      const ts = await timeOp(device, () => void softmax(sc, -1), { reps, targetMs: quick ? 20 : 60 });
      add({ group: 'memory', name: 'softmax rows of 49', shape: `${B}×${L}×${L}`, ms: ts.medianMs, gbps: (2 * 4 * B * L * L) / ts.medianMs / 1e6 });
      sc.dispose();
      q.dispose();
      k.dispose();
      v.dispose();
    }
    {
      const n = (quick ? 1 : 4) * 1024 * 1024;
      const x = rnd(device, [n / 2, 2]), s = rnd(device, [n / 2, 2], 0.5, 1);
      let stream = 1;
      const t = await timeOp(device, () => void langevinStep(x, s, { step: 1e-4, noiseScale: 1e-2, seed: 1, stream: stream++ }), { reps, targetMs: quick ? 20 : 60 });
      add({ group: 'memory', name: 'langevin fused step', shape: `${n} elements`, ms: t.medianMs, gbps: (12 * n) / t.medianMs / 1e6 });
      x.dispose();
      s.dispose();
    }
    {
      const n = 3611969; // the reference U-Net's parameter count
      const params = rnd(device, [n], 0.1), grads = rnd(device, [n], 0.1, 1), m = rnd(device, [n], 0, 2), v = rnd(device, [n], 0, 3);
      const state = createOptimState(device, { lr: 1e-4, t: 1 });
      const t = await timeOp(device, () => adamStep({ params, grads, m, v }, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, state), { reps, targetMs: quick ? 20 : 60 });
      add({ group: 'memory', name: 'adam update (2 dispatches)', shape: `${n} params`, ms: t.medianMs, gbps: (7 * 4 * n) / t.medianMs / 1e6 });
      for (const z of [params, grads, m, v]) z.dispose();
      state.dispose();
    }
  },
};
