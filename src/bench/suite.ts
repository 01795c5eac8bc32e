// The benchmark suite. Each entry times one thing with warm-up and a median; results carry the
// shape, the time, and a rate (GFLOP/s or GB/s).
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from '../tensor/ops/matmul.js';
import { conv2d } from '../tensor/ops/conv2d.js';
import { timeIt } from './timing.js';
import { describeDevice } from '../cli/info.js';

export interface BenchEntry {
  group: string;
  name: string;
  shape: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  [k: string]: unknown;
}

export interface BenchOptions {
  quick?: boolean;
  only?: string[];
  peers?: boolean;
  log?: (line: string) => void;
}

function rnd(device: Device, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin(i * 12.9898) * 0.5;
  return Tensor.fromArray(device, d, shape).keep();
}

export async function runBench(device: Device, o: BenchOptions = {}) {
  const log = o.log ?? (() => {});
  const entries: BenchEntry[] = [];
  const want = (g: string) => !o.only || o.only.includes(g);
  const add = (e: BenchEntry) => {
    entries.push(e);
    log(`${e.group.padEnd(8)} ${e.name.padEnd(26)} ${e.shape.padEnd(28)} ${e.ms.toFixed(2).padStart(10)} ms` + (e.gflops ? `  ${e.gflops.toFixed(2)} GFLOP/s` : '') + (e.gbps ? `  ${e.gbps.toFixed(2)} GB/s` : ''));
  };
  if (want('matmul')) {
    for (const n of o.quick ? [256, 512] : [256, 512, 1024, 2048]) {
      const a = rnd(device, [n, n]), b = rnd(device, [n, n]);
      const t = await timeIt(device, () => void matmul(a, b), { reps: n >= 2048 ? 3 : 5 });
      add({ group: 'matmul', name: `matmul ${n}`, shape: `${n}x${n}x${n}`, ms: t.medianMs, gflops: (2 * n ** 3) / t.medianMs / 1e6 });
      a.dispose();
      b.dispose();
    }
  }
  if (want('conv')) {
    const B = o.quick ? 8 : 64;
    const x = rnd(device, [B, 64, 32, 32]), w = rnd(device, [64, 64, 3, 3]);
    const t = await timeIt(device, () => void conv2d(x, w, { padding: 1 }), { reps: 3 });
    add({ group: 'conv', name: 'conv2d 3x3 64->64', shape: `B${B} 32x32`, ms: t.medianMs, gflops: (2 * B * 64 * 64 * 9 * 32 * 32) / t.medianMs / 1e6 });
    x.dispose();
    w.dispose();
  }
  return { adapter: describeDevice(device).adapter, date: new Date().toISOString(), entries };
}
