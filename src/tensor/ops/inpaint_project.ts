// Inpainting's masked projection (shaders/inpaint_project.wgsl + the Philox library of shaders/rng.wgsl):
//   x ← m ⊙ (mean·y + std·z) + (1 − m) ⊙ x   in place, m ∈ {0, 1} (read as m ≥ 0.5),
// with (mean, std) in a device buffer (`ProjectionLevel`) that the host rewrites between replays of a
// recorded sampling step. Noise keys work as in ./random.ts: an explicit `stream` and a `clock` make z
// a pure function of (seed, stream, element, clock step), equal to randn under the same key.
import source from '../../../shaders/inpaint_project.wgsl';
import type { Device } from '../../gpu/device.js';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { withPhilox, resolveKey, type RandomOptions } from './random.js';

const WG = 64;
const full = withPhilox('inpaint_project.ts', source);

/** The [4] buffer [mean, std, 0, 0] a recorded projection reads: write() before each replay. */
export class ProjectionLevel {
  readonly t: Tensor;
  constructor(device: Device) {
    this.t = Tensor.fromArray(device, new Float32Array(4), [4], 'projection level').keep();
  }
  write(l: { mean: number; std: number }): void {
    if (!(Number.isFinite(l.mean) && Number.isFinite(l.std) && l.std >= 0)) throw new RangeError(`projection level: mean ${l.mean}, std ${l.std} must be finite with std ≥ 0`);
    this.t.write([l.mean, l.std, 0, 0]);
  }
  dispose(): void {
    this.t.dispose();
  }
}

/** x ← select(x, mean·y + std·z, mask ≥ 0.5) in place; returns x. */
export function inpaintProject(x: Tensor, y: Tensor, mask: Tensor, level: Pick<ProjectionLevel, 't'>, opts: RandomOptions & { seed?: number } = {}): Tensor {
  const device = sameDevice('inpaintProject', x, y, mask, level.t);
  for (const [n, t] of [['known image y', y], ['mask', mask]] as const) {
    if (t.size !== x.size) throw new ShapeError(`inpaintProject: ${n} ${fmtShape(t.shape)} does not match x ${fmtShape(x.shape)}`);
    if (t.buffer === x.buffer) throw new ShapeError(`inpaintProject: ${n} shares storage with x (x is written in place)`);
  }
  if (level.t.size !== 4) throw new ShapeError(`inpaintProject: the level must be a [4] tensor, got ${fmtShape(level.t.shape)}`);
  const k = resolveKey(device, opts.seed, opts);
  device.run(
    { file: 'inpaint_project.wgsl', source: full, entry: 'main', constants: { WG } },
    { x, y, mask, clock: k.clock.buffer, level: level.t, p: { n: x.size, seed: k.seed, stream: k.stream, offset: k.offset } },
    grid1d(device, Math.ceil(x.size / 4), WG),
  );
  return x;
}
