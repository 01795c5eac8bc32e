// `scoregpu bench`: kernel and model timings on this adapter, with the adapter's own ceilings and
// optional peers (TensorFlow.js WebGPU on the same adapter, and WASM). A readable table goes to
// stderr; with --json the full result goes to stdout (`npm run bench`).
import type { Device } from '../gpu/device.js';
import { UsageError, type OptSpec } from './args.js';
import { runBench, GROUPS } from '../bench/suite.js';

export const BENCH_OPTS: OptSpec = {
  json: { type: 'boolean', help: 'print the results as JSON on stdout' },
  quick: { type: 'boolean', help: 'small sizes and few repetitions, peers on the key shapes only (a couple of minutes)' },
  full: { type: 'boolean', help: 'run the U-Net forward and training step at batch 64 for real (slow on CPU adapters)' },
  only: { type: 'string', help: `comma-separated groups to run: ${GROUPS.join(',')}` },
  peers: { type: 'boolean', help: 'also time TensorFlow.js (WebGPU on the same adapter, and WASM) on the same shapes', default: true },
  'no-peers': { type: 'boolean', help: 'skip the peers (same as --peers=false)' },
  'unet-batch': { type: 'number', help: 'U-Net batch to measure (default 8; 2 with --quick; 64 with --full)' },
};

export async function benchCommand(device: Device, a: Record<string, any>): Promise<number> {
  const only = a.only ? String(a.only).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  for (const g of only ?? []) if (!(GROUPS as readonly string[]).includes(g)) throw new UsageError(`bench: unknown group '${g}' in --only; valid: ${GROUPS.join(', ')}`);
  const ub = a['unet-batch'];
  if (ub !== undefined && !(Number.isInteger(ub) && ub >= 1)) throw new UsageError(`bench: --unet-batch must be a positive integer, got ${ub}`);
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
