// Timing of the U-Net score network: forward, and a training step (forward + DSM-style loss +
// backward via grad over every arena parameter). Not a test; prints one line per measurement.
// Run: npx esbuild bench/unet.ts --bundle --platform=node --format=esm --loader:.wgsl=text \
//        --external:webgpu --external:wgsl_reflect --outfile=node_modules/.cache/unet-bench.mjs \
//      && XDG_RUNTIME_DIR=/tmp node node_modules/.cache/unet-bench.mjs [preset=reference] [batch=8] [reps=3]
import { createDevice } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { grad, noGrad } from '../src/autograd/engine.js';
import * as op from '../src/autograd/ops.js';
import { materialize } from '../src/nn/module.js';
import { createUNet, Conv2d, type UNetPreset } from '../src/nn/unet.js';

const [preset = 'reference', batchArg = '8', repsArg = '3'] = process.argv.slice(2);
const B = Number(batchArg), reps = Number(repsArg);

const d = await createDevice();
const net = createUNet(preset as UNetPreset);
const arena = materialize(d, net);
const params = arena.params.map(([, p]) => p.value);
const { channels: C, imageSize: S } = net.cfg;

// forward FLOPs of the convolutions (they dominate): 2·Cout·Cin·k²·Ho·Wo per image, sizes traced by a hook
let convFlops = 0;
const proto = Conv2d.prototype.forward;
Conv2d.prototype.forward = function (this: Conv2d, x: Tensor) {
  const y = proto.call(this, x);
  convFlops += 2 * y.size * this.cin * this.k * this.k;
  return y;
};

const r = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const x = Tensor.fromArray(d, r(B * C * S * S), [B, C, S, S]).keep();
const z = Tensor.fromArray(d, r(B * C * S * S), [B, C, S, S]).keep();
const sigma = Tensor.fromArray(d, Float32Array.from({ length: B }, () => Math.exp(Math.random() * 4 - 2)), [B, 1]).keep();
const sig4 = sigma.reshape([B, 1, 1, 1]).keep();

const forward = () => d.scope(() => noGrad(() => net.forward(x, sigma)).dispose());
// NCSN's σ-weighted DSM loss ½‖σ·s(x + σz) + z‖², batch mean, then ∂/∂θ of every parameter
const step = () =>
  d.scope(() => {
    const xt = op.add(x, op.mul(sig4, z));
    const s = net.forward(xt, sigma);
    const loss = op.scale(op.sum(op.square(op.add(op.mul(sig4, s), z))), 0.5 / B);
    const gs = grad(loss, params);
    return gs.length;
  });

async function time(name: string, fn: () => unknown, flops: number) {
  const d0 = d.dispatches;
  convFlops = 0;
  const t0 = performance.now();
  fn();
  await d.sync();
  const first = performance.now() - t0;
  const dispatches = d.dispatches - d0;
  const f = flops || convFlops;
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    await d.sync();
    best = Math.min(best, performance.now() - t);
  }
  console.log(
    `${preset} B=${B} ${name}: ${best.toFixed(0)} ms (first run ${first.toFixed(0)} ms with pipeline creation), ` +
      `${dispatches} dispatches, conv ${(f / 1e9).toFixed(2)} GFLOP → ${(f / best / 1e6).toFixed(2)} GFLOP/s; ` +
      `×${64 / B} for batch 64 ≈ ${((best * 64) / B / 1000).toFixed(1)} s`,
  );
  return f;
}

console.log(`${preset}: ${net.parameterCount()} parameters, adapter ${d.info.description || d.info.device || d.info.vendor}`);
const fwdFlops = await time('forward', forward, 0);
// backward of a conv is two convs of the forward's cost (input and weight gradients), so a step is ≈3× forward
await time('train step (fwd+bwd)', step, 3 * fwdFlops);
console.log(`peak pool bytes ${JSON.stringify(d.stats())}`);
process.exit(0);
