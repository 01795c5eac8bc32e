// The samplers' fused update (shaders/affine_update.wgsl + the Philox library of shaders/rng.wgsl):
//   x̂₀ = p·x + q·out,  [x̂₀ ← clamp(x̂₀, lo, hi)],  x ← a·x + b·x̂₀ + c·z,  z ~ N(0, I),
// in place, with the coefficients in a device buffer (`UpdateCoefficients`) that the host rewrites
// between replays of a recorded sampling step. Noise keys work as in ./random.ts: an explicit
// `stream` and a `clock` make z a pure function of (seed, stream, element, clock step).
import source from '../../../shaders/affine_update.wgsl';
import type { Device } from '../../gpu/device.js';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { withPhilox, resolveKey, type RandomOptions } from './random.js';

const WG = 64;
const full = withPhilox('affine_update.ts', source);

/** One step's coefficients; lo/hi matter only when the update clips. */
export interface UpdateCoef {
  p: number;
  q: number;
  a: number;
  b: number;
  c: number;
  lo?: number;
  hi?: number;
}

/** The [8] coefficient buffer a recorded update reads: write() before each replay. */
export class UpdateCoefficients {
  readonly t: Tensor;
  constructor(device: Device) {
    this.t = Tensor.fromArray(device, new Float32Array(8), [8], 'update coefficients').keep();
  }
  write(c: UpdateCoef): void {
    for (const [k, v] of Object.entries(c)) if (!Number.isFinite(v)) throw new RangeError(`update coefficient ${k} = ${v} is not finite`);
    this.t.write([c.p, c.q, c.a, c.b, c.c, c.lo ?? -1, c.hi ?? 1, 0]);
  }
  dispose(): void {
    this.t.dispose();
  }
}

export interface AffineUpdateOptions extends RandomOptions {
  seed?: number;
  /** Clamp x̂₀ to [lo, hi] (from the coefficients). */
  clip?: boolean;
  /** Inpainting: keep `known` where mask is 0 (both the size of x). */
  mask?: Tensor;
  known?: Tensor;
}

/**
 * x ← a·x + b·clip?(p·x + q·out) + c·z in place; returns x. The coefficients are an [8] tensor
 * (an UpdateCoefficients the host writes, or one computed on the device, as Langevin's SNR step).
 */
export function affineUpdate(x: Tensor, out: Tensor, coef: Pick<UpdateCoefficients, 't'>, opts: AffineUpdateOptions = {}): Tensor {
  const device = sameDevice('affineUpdate', x, out, coef.t, ...(opts.mask ? [opts.mask] : []), ...(opts.known ? [opts.known] : []));
  if (out.size !== x.size) throw new ShapeError(`affineUpdate: x ${fmtShape(x.shape)} and model output ${fmtShape(out.shape)} differ in size`);
  if (out.buffer === x.buffer) throw new ShapeError('affineUpdate: the model output shares storage with x (x is written in place)');
  if (coef.t.size !== 8) throw new ShapeError(`affineUpdate: the coefficients must be an [8] tensor, got ${fmtShape(coef.t.shape)}`);
  if (!!opts.mask !== !!opts.known) throw new ShapeError('affineUpdate: mask and known come together');
  for (const [n, t] of [['mask', opts.mask], ['known', opts.known]] as const) {
    if (t && t.size !== x.size) throw new ShapeError(`affineUpdate: ${n} ${fmtShape(t.shape)} does not match x ${fmtShape(x.shape)}`);
  }
  const k = resolveKey(device, opts.seed, opts);
  device.run(
    { file: 'affine_update.wgsl', source: full, entry: 'main', constants: { WG, CLIP: opts.clip ? 1 : 0, MASK: opts.mask ? 1 : 0 } },
    {
      x,
      model_out: out,
      clock: k.clock.buffer,
      coef: coef.t,
      mask: opts.mask ?? coef.t,
      known: opts.known ?? coef.t,
      p: { n: x.size, seed: k.seed, stream: k.stream, offset: k.offset },
    },
    grid1d(device, Math.ceil(x.size / 4), WG),
  );
  return x;
}
