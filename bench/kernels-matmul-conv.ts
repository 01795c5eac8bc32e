// Quick timing for the matmul / conv2d kernels (not a test; `npm run bench` is the real benchmark).
// Run: npx esbuild bench/kernels-matmul-conv.ts --bundle --platform=node --format=esm \
//        --loader:.wgsl=text --external:webgpu --external:wgsl_reflect --outfile=/tmp/kmc.mjs && node /tmp/kmc.mjs [what]
import { createDevice, type Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import type { MatmulConfig } from '../src/tensor/ops/matmul_plan.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from '../src/tensor/ops/conv2d.js';

async function time(d: Device, fn: () => Tensor, flops: number, reps = 3): Promise<number> {
  const w = fn();
  await w.toArray();
  w.dispose();
  let best = Infinity, bestCpu = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const o = fn();
    await d.sync();
    const c = process.cpuUsage(c0);
    best = Math.min(best, performance.now() - t0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    o.dispose();
  }
  // On a shared machine wall time lies; CPU time over the 2 cores gives the rate an idle box would see.
  if (process.env.CPU_RATE) return flops / ((bestCpu / 2) * 1e6);
  return flops / (best * 1e6);
}

const d = await createDevice();
const what = process.argv[2] ?? 'matmul';
const cfgArg = process.argv[3] ? (JSON.parse(process.argv[3]) as Partial<MatmulConfig>) : undefined;
console.log(d.info.description || d.info.device, 'subgroups:', d.hasSubgroups);
if (what === 'matmul') {
  for (const n of [256, 512, 1024]) {
    const a = Tensor.fromArray(d, Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
    const b = Tensor.fromArray(d, Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
    for (const [tA, tB] of [[false, false], [true, false], [false, true]]) {
      const t0 = performance.now();
      const g = await time(d, () => matmul(a, b, { transA: tA, transB: tB, config: cfgArg }), 2 * n ** 3);
      console.log(`matmul ${n}³ tA=${+tA} tB=${+tB}: ${g.toFixed(2)} GFLOP/s (total ${(performance.now() - t0).toFixed(0)} ms)`);
    }
  }
}
if (what === 'conv') {
  // B=8 (B=64 is too slow for a quick run on lavapipe), 64→64 channels, 32×32, 3×3, padding 1.
  const [B, C, H] = [8, 64, 32];
  const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const x = Tensor.fromArray(d, rnd(B * C * H * H), [B, C, H, H]);
  const w = Tensor.fromArray(d, rnd(C * C * 9), [C, C, 3, 3]);
  const gy = Tensor.fromArray(d, rnd(B * C * H * H), [B, C, H, H]);
  const flops = 2 * B * C * C * 9 * H * H;
  const cfg = cfgArg as any;
  console.log(`conv2d fwd    B=${B} ${C}→${C} ${H}×${H} 3×3: ${(await time(d, () => conv2d(x, w, { padding: 1, config: cfg }), flops)).toFixed(2)} GFLOP/s`);
  console.log(`conv2d dInput B=${B} ${C}→${C} ${H}×${H} 3×3: ${(await time(d, () => conv2dBackwardInput(gy, w, [B, C, H, H], { padding: 1, config: cfg }), flops)).toFixed(2)} GFLOP/s`);
  console.log(`conv2d dW     B=${B} ${C}→${C} ${H}×${H} 3×3: ${(await time(d, () => conv2dBackwardWeight(x, gy, [C, C, 3, 3], { padding: 1, config: cfg }), flops)).toFixed(2)} GFLOP/s`);
}
d.destroy();
process.exit(0);
