#!/usr/bin/env node
// Where the reference U-Net's time goes: per-dispatch GPU times (timestamp queries, one pass per
// dispatch) grouped by op, kernel, output shape and layer. src/bench/profile.ts does the work; this
// bundles it with esbuild (WGSL inlined, source maps on so call stacks name src/ files) and runs it.
//   node scripts/profile-unet.mjs [--batch 8] [--train] [--reps 3] [--wall] [--json out.json] [--top 40]
import { writeFileSync } from 'node:fs';
import { importBundled, cliArgs } from './run-bundled.mjs';

const { opt, flag } = cliArgs();
// source maps on, so that the call stacks that label each dispatch name src/ files
const m = await importBundled('profile', ['src/bench/profile.ts'], { sourcemap: true });
const device = await m.createDevice();
const p = await m.profileUNet(device, {
  batch: Number(opt('batch', 8)), train: flag('train'), reps: Number(opt('reps', 3)), wall: flag('wall'),
  preset: opt('preset', 'reference'),
});
console.log(m.formatProfile(p, Number(opt('top', 40))));
const json = opt('json', null);
if (json) writeFileSync(json, JSON.stringify(p, null, 1));
device.destroy();
