// The adapter's own ceilings and overheads, measured in the same run as the kernels:
//  - FMA-only kernel (8 independent vec4 accumulators, 16 fma per loop trip): arithmetic roof, GFLOP/s;
//  - buffer copy bandwidth: copyBufferToBuffer and a vec4 storage-buffer copy kernel, GB/s counted
//    as bytes read + bytes written;
//  - dispatch cost: empty kernels in one pass (eager device.run, and a replayed Recording);
//  - submit cost: empty submit, and submit + onSubmittedWorkDone round trip.
// The WGSL here is benchmark-only, so it lives beside the benchmark rather than in shaders/.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { timeOp, median } from './timing.js';

const FMA_WGSL = /* wgsl */ `
struct Params { iters: u32, n: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
override WG: u32 = 8;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let s = f32(i) * 1e-7;
  var a0 = vec4<f32>(s, s + 0.1, s + 0.2, s + 0.3);
  var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
  var a4 = a0 + 4.0; var a5 = a0 + 5.0; var a6 = a0 + 6.0; var a7 = a0 + 7.0;
  let m = vec4<f32>(0.99999, 0.99998, 0.99997, 0.99996);
  let c = vec4<f32>(1e-6, 2e-6, 3e-6, 4e-6);
  for (var k = 0u; k < p.iters; k++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  if (i < p.n) { out[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7; }
}
`;

const COPY_WGSL = /* wgsl */ `
struct Params { n4: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
override WG: u32 = 64;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let i = gid.x + gid.y * nw.x * WG;
  if (i < p.n4) { dst[i] = src[i]; }
}
`;

const EMPTY_WGSL = /* wgsl */ `
struct Params { flag: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1)
fn main() { if (p.flag == 12345u) { out[0] = 1u; } }
`;

/** The FMA and copy ceilings of the adapter as the suite reports them (measured once a run). */
export interface Ceilings {
  fmaGflops: number;
  fmaPerWorkgroupSize: { wg: number; ms: number; gflops: number }[];
  copyBufferToBufferGBps: number;
  copyKernelGBps: number;
  /** Bandwidth ceiling used for fractions: the larger of the two copies. */
  bandwidthGBps: number;
  /** Bytes each copy moved one way. */
  copyBytes: number;
  note: string;
}

export async function measureFma(device: Device, quick: boolean): Promise<{ gflops: number; perWg: { wg: number; gflops: number; ms: number }[] }> {
  const out = Tensor.empty(device, [4 * 16384]).keep();
  const perWg: { wg: number; gflops: number; ms: number }[] = [];
  for (const wg of [8, 64]) {
    const n = 8192, iters = quick ? 500 : 2000;
    const t = await timeOp(device, () => device.run({ file: 'bench_fma.wgsl', source: FMA_WGSL, entry: 'main', constants: { WG: wg } }, { out, p: { iters, n } }, Math.ceil(n / wg)), {
      reps: quick ? 3 : 5,
      targetMs: quick ? 40 : 150,
    });
    const flops = n * iters * 16 * 4 * 2;
    perWg.push({ wg, ms: t.medianMs, gflops: flops / t.medianMs / 1e6 });
  }
  out.dispose();
  return { gflops: Math.max(...perWg.map((x) => x.gflops)), perWg };
}

export async function measureCopy(device: Device, quick: boolean): Promise<{ b2b: number; kernel: number; bytes: number }> {
  const n = (quick ? 4 : 8) * 1024 * 1024; // floats per buffer (16 / 32 MB)
  const bytes = n * 4;
  const src = Tensor.empty(device, [n]).keep(), dst = Tensor.empty(device, [n]).keep();
  const reps = quick ? 3 : 5;
  const tb = await timeOp(device, () => device.copy(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, bytes), { reps, targetMs: 60 });
  const n4 = n / 4, WG = 64;
  const groups = Math.ceil(n4 / WG);
  const gx = Math.min(groups, 32768), gy = Math.ceil(groups / gx);
  const tk = await timeOp(device, () => device.run({ file: 'bench_copy.wgsl', source: COPY_WGSL, entry: 'main', constants: { WG } }, { src, dst, p: { n4 } }, [gx, gy]), { reps, targetMs: 60 });
  src.dispose();
  dst.dispose();
  return { b2b: (2 * bytes) / tb.medianMs / 1e6, kernel: (2 * bytes) / tk.medianMs / 1e6, bytes };
}

export interface Overheads {
  /** µs per empty dispatch through device.run (bind group creation + encode + execution), one pass. */
  dispatchEagerUs: number;
  /** µs per empty dispatch replayed from a Recording (encode + execution). */
  dispatchReplayUs: number;
  /** µs per empty queue.submit (no wait), averaged over a burst. */
  submitUs: number;
  /** µs per submit + onSubmittedWorkDone round trip (median). */
  roundTripUs: number;
  dispatchesPerSecond: number;
}

export async function measureOverheads(device: Device, quick: boolean): Promise<Overheads> {
  const sink = Tensor.empty(device, [4]).keep();
  const spec = { file: 'bench_empty.wgsl', source: EMPTY_WGSL, entry: 'main' };
  const run = () => device.run(spec, { out: sink, p: { flag: 0 } }, 1);
  run();
  await device.sync();
  const q = device.device.queue;
  // round trip
  const rt: number[] = [];
  for (let i = 0; i < (quick ? 20 : 60); i++) {
    const t0 = performance.now();
    q.submit([device.device.createCommandEncoder().finish()]);
    await q.onSubmittedWorkDone();
    rt.push(performance.now() - t0);
  }
  const roundTripMs = median(rt);
  // burst of empty submits
  const nSub = quick ? 100 : 400;
  const sb: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < nSub; i++) q.submit([device.device.createCommandEncoder().finish()]);
    await q.onSubmittedWorkDone();
    sb.push((performance.now() - t0 - roundTripMs) / nSub);
  }
  // empty dispatches in one pass
  const N = quick ? 500 : 2000;
  const ev: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) run();
    await device.sync();
    ev.push((performance.now() - t0 - roundTripMs) / N);
  }
  const { recording } = device.record(() => {
    for (let i = 0; i < N; i++) run();
  });
  const rp: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    recording.replay();
    await q.onSubmittedWorkDone();
    if (r > 0) rp.push((performance.now() - t0 - roundTripMs) / N);
  }
  recording.dispose();
  sink.dispose();
  const replayMs = median(rp);
  return {
    dispatchEagerUs: median(ev) * 1e3,
    dispatchReplayUs: replayMs * 1e3,
    submitUs: Math.max(0, median(sb)) * 1e3,
    roundTripUs: roundTripMs * 1e3,
    dispatchesPerSecond: 1e3 / replayMs,
  };
}
