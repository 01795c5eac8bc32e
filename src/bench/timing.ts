// Timing with warm-up and medians; each repetition is synchronised on the queue.
import type { Device } from '../gpu/device.js';

export async function timeIt(device: Device, fn: () => void, opts: { warmup?: number; reps?: number; minMs?: number } = {}): Promise<{ medianMs: number; reps: number }> {
  const warm = opts.warmup ?? 1;
  for (let i = 0; i < warm; i++) {
    device.scope(fn);
    await device.sync();
  }
  const times: number[] = [];
  const maxReps = opts.reps ?? 5;
  const minMs = opts.minMs ?? 0;
  let total = 0;
  while (times.length < maxReps && (times.length < 3 || total < minMs)) {
    const t0 = performance.now();
    device.scope(fn);
    await device.sync();
    const dt = performance.now() - t0;
    times.push(dt);
    total += dt;
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], reps: times.length };
}
