// The foundation demo: a matmul and a conv2d on the GPU, checked against the float64 reference.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from '../tensor/ops/matmul.js';
import { conv2d } from '../tensor/ops/conv2d.js';
import { matmulRef } from '../tensor/cpu/matmul.js';
import { conv2dRef } from '../tensor/cpu/conv2d.js';
import { seeded } from '../nn/init.js';
import { printInfo } from './info.js';

function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let n = 0, d = 0;
  for (let i = 0; i < ref.length; i++) {
    n += (out[i] - ref[i]) ** 2;
    d += ref[i] ** 2;
  }
  return Math.sqrt(n / d);
}

export async function demoCommand(device: Device): Promise<number> {
  printInfo(device, false);
  const r = seeded(Date.now() % 2 ** 31);
  let ok = true;
  {
    const [M, K, N] = [257, 129, 193];
    const a = r.uniform(M * K, 1), b = r.uniform(K * N, 1);
    const t0 = performance.now();
    const c = matmul(Tensor.fromArray(device, a, [M, K]), Tensor.fromArray(device, b, [K, N]));
    const out = await c.toArray();
    const ms = performance.now() - t0;
    const e = relErr(out, matmulRef(a, [M, K], b, [K, N]).data);
    ok &&= e < 1e-4;
    console.log(`matmul ${M}×${K}·${K}×${N} on the GPU: ${ms.toFixed(1)} ms, relative error vs float64 CPU ${e.toExponential(2)} ${e < 1e-4 ? 'ok' : 'FAIL'}`);
  }
  {
    const xs = [4, 16, 31, 31], ws = [24, 16, 3, 3];
    const x = r.uniform(xs.reduce((p, q) => p * q), 1), w = r.uniform(ws.reduce((p, q) => p * q), 0.2), bias = r.uniform(24, 0.5);
    const t0 = performance.now();
    const y = conv2d(Tensor.fromArray(device, x, xs), Tensor.fromArray(device, w, ws), { bias: Tensor.fromArray(device, bias, [24]), stride: 2, padding: 1 });
    const out = await y.toArray();
    const ms = performance.now() - t0;
    const ref = conv2dRef(x, xs, w, ws, { bias, stride: 2, padding: 1 });
    const e = relErr(out, ref.data);
    ok &&= e < 1e-4;
    console.log(`conv2d [${xs}] * [${ws}] stride 2 pad 1 → [${y.shape}]: ${ms.toFixed(1)} ms, relative error ${e.toExponential(2)} ${e < 1e-4 ? 'ok' : 'FAIL'}`);
  }
  return ok ? 0 : 1;
}
