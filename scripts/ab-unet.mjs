#!/usr/bin/env node
// Interleaved A/B of the reference U-Net forward (or training step) under implicit-GEMM tile rules
// (src/bench/unet_ab.ts): median time per rule and its per-round ratio to the first rule.
//   node scripts/ab-unet.mjs [--batch 64] [--rounds 7] [--train] [--rules default,strips,blocks14] [--json]
import { loadavg } from 'node:os';
import { importBundled, cliArgs } from './run-bundled.mjs';

const { opt, flag } = cliArgs();
const m = await importBundled('ab', ['src/bench/unet_ab.ts']);
const device = await m.createDevice();
const rules = opt('rules', undefined)?.split(',');
const r = await m.abUNet(device, { batch: Number(opt('batch', 64)), rounds: Number(opt('rounds', 7)), train: flag('train'), rules });
if (flag('json')) console.log(JSON.stringify(r, null, 1));
else {
  console.log(`U-Net ${flag('train') ? 'training step' : 'forward'} at batch ${opt('batch', 64)}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const t of r) console.log(`${t.rule.padEnd(10)} ${t.medianMs.toFixed(1).padStart(9)} ms  ×${(1 / t.ratioToFirst).toFixed(3)} vs ${r[0].rule} (per-round median)   rounds: ${t.ms.join(' ')}`);
}
