#!/usr/bin/env node
// A/B timing of conv2d paths (row conv, im2col + texture GEMM, implicit GEMM and its strip shapes)
// at the reference U-Net's conv shapes, interleaved so machine load hits every path alike
// (src/bench/convpaths.ts). Ratios are against the first path named.
//   node scripts/profile-conv.mjs [--batch 8] [--paths row,im2col,implicit] [--kinds forward,input,weight]
//        [--shapes 32:28:32,64:14:64,...  (Cin:H:Cout[:k[:s]])] [--rounds 5]
import { importBundled, cliArgs } from './run-bundled.mjs';

const { opt } = cliArgs();
const m = await importBundled('convpaths', ['src/bench/convpaths.ts']);
const device = await m.createDevice();
const B = Number(opt('batch', 8));
const shapes = opt('shapes', '32:28:32,64:28:32,64:14:64,128:14:64,128:7:128,256:7:128,32:28:32:3:2').split(',').map((s) => {
  const [Cin, H, Cout, k = 3, st = 1] = s.split(':').map(Number);
  return { B, Cin, H, Cout, k, s: st, p: k === 3 ? 1 : 0 };
});
const r = await m.compareConvPaths(device, shapes, opt('paths', 'row,im2col,implicit').split(','), {
  kinds: opt('kinds', 'forward').split(','), rounds: Number(opt('rounds', 5)),
});
const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load average ${load}`);
for (const e of r) console.log(`${e.shape.padEnd(28)} ${e.kind.padEnd(8)} ${e.path.padEnd(14)} ${e.ms.toFixed(2).padStart(9)} ms ${e.gflops.toFixed(2).padStart(7)} GFLOP/s  ×${e.ratio.toFixed(2)}`);
device.destroy();
