// `scoregpu bench`: kernel and model timings on this adapter, with the adapter's own ceilings and
// optional peers (TensorFlow.js WebGPU on the same adapter, and WASM). A readable table goes to
// stderr; with --json the full result goes to stdout (`npm run bench`).
import type { Device } from '../gpu/device.js';
import { UsageError, type OptSpec } from './args.js';
import { runBench, GROUPS } from '../bench/suite.js';
import { unetPlans, planLines } from '../bench/plans.js';
import { UNET_PRESETS, type UNetPreset } from '../nn/unet.js';

export const BENCH_OPTS: OptSpec = {
  json: { type: 'boolean', help: 'print the results as JSON on stdout' },
  quick: { type: 'boolean', help: 'small sizes and few repetitions, peers on the key shapes only (a couple of minutes)' },
  full: { type: 'boolean', help: 'run the U-Net forward and training step at batch 64 for real (slow on CPU adapters)' },
  only: { type: 'string', help: `comma-separated groups to run: ${GROUPS.join(',')}` },
  peers: { type: 'boolean', help: 'also time TensorFlow.js (WebGPU on the same adapter, and WASM) on the same shapes', default: true },
  'no-peers': { type: 'boolean', help: 'skip the peers (same as --peers=false)' },
  'unet-batch': { type: 'number', help: 'U-Net batch to measure (default 8; 2 with --quick; 64 with --full)' },
  plans: { type: 'boolean', help: 'print the kernel plan of every conv and matmul of a U-Net forward and training step (--preset, --unet-batch, default 64), and time nothing' },
  preset: { type: 'string', help: `U-Net preset for --plans: ${UNET_PRESETS.join(', ')} (default small)` },
};

export async function benchCommand(device: Device, a: Record<string, any>): Promise<number> {
  const only = a.only ? String(a.only).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  for (const g of only ?? []) if (!(GROUPS as readonly string[]).includes(g)) throw new UsageError(`bench: unknown group '${g}' in --only; valid: ${GROUPS.join(', ')}`);
  const ub = a['unet-batch'];
  if (ub !== undefined && !(Number.isInteger(ub) && ub >= 1)) throw new UsageError(`bench: --unet-batch must be a positive integer, got ${ub}`);
  if (a.plans) {
    const preset = (a.preset ?? 'small') as UNetPreset;
    if (!UNET_PRESETS.includes(preset)) throw new UsageError(`bench: unknown --preset '${preset}'; valid: ${UNET_PRESETS.join(', ')}`);
    const batch = ub ?? 64;
    const p = await unetPlans(device, { preset, batch });
    if (a.json) console.log(JSON.stringify(p, null, 2));
    else {
      console.log(`U-Net ${preset} at batch ${batch}, forward (no gradients): ${p.forward.length} plans`);
      for (const l of planLines(p.forward)) console.log(`  ${l}`);
      console.log(`training step: ${p.train.length} plans`);
      for (const l of planLines(p.train)) console.log(`  ${l}`);
    }
    return 0;
  }
  const res = await runBench(device, {
    quick: !!a.quick,
    full: !!a.full,
    only,
    peers: !!a.peers && !a['no-peers'],
    unetBatch: ub,
    log: (s) => console.error(s),
  });
  if (a.json) console.log(JSON.stringify(res, null, 2));
  return 0;
}
