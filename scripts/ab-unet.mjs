#!/usr/bin/env node
// Interleaved A/B of the reference U-Net forward (or training step) under implicit-GEMM tile rules
// (src/bench/unet_ab.ts): median time per rule and its per-round ratio to the first rule.
//   node scripts/ab-unet.mjs [--batch 64] [--rounds 7] [--train] [--rules default,strips,blocks14] [--json]
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const out = join(root, 'dist/profile/ab.mjs');
await esbuild.build({
  stdin: {
    contents: `export { createDevice } from './src/gpu/device.ts'; export * from './src/bench/unet_ab.ts';`,
    resolveDir: root, sourcefile: 'ab-entry.ts', loader: 'ts',
  },
  bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external',
  loader: { '.wgsl': 'text' }, outfile: out, absWorkingDir: root, logLevel: 'warning',
});
const m = await import(pathToFileURL(out).href);
const device = await m.createDevice();
const rules = opt('rules', undefined)?.split(',');
const r = await m.abUNet(device, { batch: Number(opt('batch', 64)), rounds: Number(opt('rounds', 7)), train: args.includes('--train'), rules });
if (args.includes('--json')) console.log(JSON.stringify(r, null, 1));
else {
  console.log(`U-Net ${args.includes('--train') ? 'training step' : 'forward'} at batch ${opt('batch', 64)}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const t of r) console.log(`${t.rule.padEnd(10)} ${t.medianMs.toFixed(1).padStart(9)} ms  ×${(1 / t.ratioToFirst).toFixed(3)} vs ${r[0].rule} (per-round median)   rounds: ${t.ms.join(' ')}`);
}
