// Interleaved A/B of whole reference U-Net steps under different implicit-GEMM tile rules: each
// rule's step is recorded once (its pipelines and choices fixed), then the recordings are replayed
// in rotating order, so that load on the machine (large and bursty on a shared 2-core VM) falls on
// every rule alike. Per-kernel timings (scripts/profile-conv.mjs) miss what a rule does to its
// neighbours (cache state, which producer packs for which conv); this measures the step itself.
//
// Run: node scripts/ab-unet.mjs [--batch 64] [--rounds 7] [--train] [--rules default,strips,blocks14]
// A rule name may end in '/direct': that rule with packing passes storing straight to their
// textures instead of staging on CPU adapters (texel_out.ts).
import type { Device } from '../gpu/device.js';
import { median } from './timing.js';
import { unetWorkload, type UNetWorkload } from './profile.js';
import { defaultImplicitTile, implicitTile, blocksTile, type ImplicitProblem, type ImplicitTile } from '../tensor/ops/conv2d_plan.js';

/** 7×7 blocks where they tile an output of at most `maxPixels` pixels (forward and input gradient alike), strips elsewhere. */
const blocksUpTo = (maxPixels: number) => (q: ImplicitProblem): ImplicitTile =>
  blocksTile(q) && q.Ho * q.Wo <= maxPixels ? { block: '7x7' } : implicitTile(q.B * q.Ho * q.Wo, q.N);

/** Tile rules by name: the default, row strips only, blocks wherever they tile (input gradients too), blocks only up to 14×14 (the rule before). */
export const tileRules: Record<string, (q: ImplicitProblem) => ImplicitTile> = {
  default: (q) => defaultImplicitTile(q),
  strips: (q) => implicitTile(q.B * q.Ho * q.Wo, q.N),
  blocksAll: blocksUpTo(Infinity),
  blocks14: blocksUpTo(196),
};

export interface RuleTiming {
  rule: string;
  medianMs: number;
  /** Median over rounds of this rule's time ÷ the first rule's time in the same round. */
  ratioToFirst: number;
  ms: number[];
}

export async function abUNet(d: Device, o: { batch?: number; rounds?: number; train?: boolean; rules?: string[] } = {}): Promise<RuleTiming[]> {
  const names = o.rules ?? ['default', 'strips', 'blocks14'];
  const split = (n: string) => ({ rule: n.replace(/\/direct$/, ''), direct: n.endsWith('/direct') });
  for (const n of names) if (!tileRules[split(n).rule]) throw new Error(`ab-unet: unknown rule '${n}' (have ${Object.keys(tileRules).join(', ')}, each optionally /direct)`);
  // one workload per rule (the trainer's step records once, under the rule in force)
  const works: UNetWorkload[] = [];
  try {
    for (const n of names) {
      const { rule, direct } = split(n);
      const policy = { choosers: { implicitTile: (_d: Device, q: ImplicitProblem) => tileRules[rule](q) }, ...(direct ? { texStaging: 'never' as const } : {}) };
      await d.withPolicy(policy, async () => {
        const w = unetWorkload(d, { batch: o.batch ?? 64, train: o.train });
        works.push(w);
        await w.prepare(); // warm-up (pipelines, scratch textures), then record
      });
    }
    const ms: number[][] = names.map(() => []);
    for (const w of works) {
      w.replay();
      await d.sync();
    }
    for (let round = 0; round < (o.rounds ?? 7); round++) {
      for (let k = 0; k < names.length; k++) {
        const i = (k + round) % names.length;
        const t0 = performance.now();
        works[i].replay();
        await d.sync();
        ms[i].push(performance.now() - t0);
      }
    }
    return names.map((rule, i) => ({
      rule, medianMs: median(ms[i]), ratioToFirst: median(ms[i].map((t, r) => t / ms[0][r])), ms: ms[i].map((t) => Math.round(t)),
    }));
  } finally {
    works.forEach((w) => w.dispose());
  }
}
