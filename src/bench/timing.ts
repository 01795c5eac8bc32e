// Timing with warm-up and medians; each repetition is synchronised on the queue.
//
// `timeIt` runs fn once per repetition. `timeOp` is for kernels: after warm-up it sizes an inner
// loop so that one repetition (many launches of fn in one submit, then a wait on the queue) lasts
// about `targetMs`, which amortises the submit round trip (~130 µs on lavapipe) over small kernels;
// the reported time is the median repetition divided by the inner count.
import type { Device } from '../gpu/device.js';

export interface Timing {
  /** Median time of one call of fn, ms. */
  medianMs: number;
  /** Fastest repetition (per call), ms. */
  minMs: number;
  /** Repetitions measured (each synchronised). */
  reps: number;
  /** Calls of fn per repetition. */
  inner: number;
}

export async function timeIt(device: Device, fn: () => void, opts: { warmup?: number; reps?: number; minMs?: number } = {}): Promise<{ medianMs: number; reps: number }> {
  const t = await timeOp(device, fn, { warmup: opts.warmup, reps: opts.reps, minMs: opts.minMs, targetMs: 0 });
  return { medianMs: t.medianMs, reps: t.reps };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function timeOp(
  device: Device,
  fn: () => void,
  opts: { warmup?: number; reps?: number; minMs?: number; targetMs?: number; maxInner?: number } = {},
): Promise<Timing> {
  const warm = Math.max(1, opts.warmup ?? 1);
  let single = Infinity;
  for (let i = 0; i < warm; i++) {
    const t0 = performance.now();
    device.scope(fn);
    await device.sync();
    single = Math.min(single, performance.now() - t0);
  }
  const target = opts.targetMs ?? 50;
  // A second single run measures without pipeline creation (the first one compiled).
  if (target > 0 && warm === 1) {
    const t0 = performance.now();
    device.scope(fn);
    await device.sync();
    single = performance.now() - t0;
  }
  const inner = target > 0 ? Math.max(1, Math.min(opts.maxInner ?? 200, Math.round(target / Math.max(single, 1e-3)))) : 1;
  const maxReps = opts.reps ?? 5;
  const minMs = opts.minMs ?? 0;
  const times: number[] = [];
  let total = 0;
  while (times.length < maxReps && (times.length < 3 || total < minMs)) {
    const t0 = performance.now();
    for (let k = 0; k < inner; k++) device.scope(fn);
    await device.sync();
    const dt = performance.now() - t0;
    times.push(dt / inner);
    total += dt;
  }
  return { medianMs: median(times), minMs: Math.min(...times), reps: times.length, inner };
}

