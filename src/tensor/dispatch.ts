// Dispatch-size helpers shared by the op files.
import type { Device } from '../gpu/device.js';

/** Workgroups for a 1-D launch of `n` threads, folded into 2-D past the per-dimension limit. */
export function grid1d(device: Device, n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
