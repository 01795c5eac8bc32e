// The kernel plans of a U-Net forward and of its training step (the trainer's own): every conv and
// matmul call's plan (conv2d_plan.ts, matmul_plan.ts), collected through the device policy's
// `observe` while the step runs once. `scoregpu bench --plans` prints them; a test asserts them.
import type { Device } from '../gpu/device.js';
import type { KernelPlan } from '../gpu/policy.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { formatConvPlan, type ConvPlan } from '../tensor/ops/conv2d_plan.js';
import { formatMatmulPlan, type MatmulPlan } from '../tensor/ops/matmul_plan.js';
import type { UNetPreset } from '../nn/unet.js';
import { imageWorkload } from './workload.js';

export type OpPlan = ConvPlan | MatmulPlan;

/** The plans of one U-Net forward (without gradients, as samplers run it) and of one training step, in call order. */
export async function unetPlans(device: Device, o: { preset: UNetPreset; batch: number }): Promise<{ forward: OpPlan[]; train: OpPlan[] }> {
  const w = imageWorkload(device, { preset: o.preset, batch: o.batch });
  const collect = async (fn: () => void): Promise<OpPlan[]> => {
    const plans: KernelPlan[] = [];
    device.withPolicy({ observe: (p) => void plans.push(p) }, fn);
    await device.sync();
    return plans as OpPlan[];
  };
  try {
    const { channels: C, imageSize: S } = w.net.cfg;
    const B = o.batch;
    const forward = await collect(() => device.scope(() => {
      const x = Tensor.fromArray(device, new Float32Array(B * C * S * S), [B, C, S, S]);
      const t = Tensor.fromArray(device, Float32Array.from({ length: B }, (_, i) => (i * 37) % w.process.N), [B, 1]);
      noGrad(() => w.net.forward(x, t));
    }));
    const train = await collect(() => w.trainer.runStep()); // its first step runs eagerly
    return { forward, train };
  } finally {
    w.dispose();
  }
}

export function formatPlan(p: OpPlan): string {
  return p.op === 'matmul' ? formatMatmulPlan(p) : formatConvPlan(p);
}

/** Plans as lines, repeats of the same line counted ('×3'), in order of first appearance. */
export function planLines(plans: OpPlan[]): string[] {
  const counts = new Map<string, number>();
  for (const p of plans) {
    const s = formatPlan(p);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => (n > 1 ? `${s}  ×${n}` : s));
}
