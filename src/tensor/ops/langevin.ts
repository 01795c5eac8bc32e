// The fused Langevin update (shaders/langevin.wgsl + the Philox library of shaders/rng.wgsl):
//   x ← x + step·s + noiseScale·z,   z ~ N(0, I) drawn inside the kernel,   [x ← clamp(x, lo, hi)].
// Plain Langevin (Welling & Teh; Song & Ermon 2019) is step = α/2, noiseScale = √α.
// Keys work as in ./random.ts: with `stream` the noise is a pure function of (seed, stream, offset,
// clock step); without it each call takes a fresh eager offset (so a loop of eager calls, or two
// calls inside one recorded step, never reuse noise). In a recorded sampling loop pass a `clock` and
// setClock(clock, k) before replay k.
import langevinSource from '../../../shaders/langevin.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { withPhilox, resolveKey, defaultClock, randn, type RandomOptions } from './random.js';

const FILE = 'langevin.wgsl';
const WG = 64;
const source = withPhilox('langevin.ts', langevinSource);

export interface LangevinOptions extends RandomOptions {
  /** Drift coefficient on the score. */
  step: number;
  /** Coefficient on the fresh standard normal z. */
  noiseScale: number;
  /** Philox seed (default: the device's seed). */
  seed?: number;
  /** Write here instead of updating x in place (must not share storage with x). */
  out?: Tensor;
  /**
   * Optional [2] tensor on the device: the kernel uses step·coef[0] and noiseScale·coef[1]. Lets a
   * step size computed on the GPU (e.g. the predictor–corrector SNR rule) or rewritten between
   * replays (annealed Langevin's αᵢ) reach a recorded step without read-back or re-recording.
   */
  coef?: Tensor;
  /**
   * Optional [2, D] tensor (lower ends, then upper ends) for x of rows of D coordinates: each result
   * is clamped to its coordinate's [lo, hi] in the same pass (a chain kept inside its data's range).
   */
  box?: Tensor;
}

/** x ← x + step·score + noiseScale·z (in place unless `out`); returns the updated tensor. */
export function langevinStep(x: Tensor, score: Tensor, opts: LangevinOptions): Tensor {
  const device = sameDevice('langevinStep', x, score, ...[opts.out, opts.coef, opts.box].filter((t): t is Tensor => !!t));
  if (score.size !== x.size) throw new ShapeError(`langevinStep: x ${fmtShape(x.shape)} and score ${fmtShape(score.shape)} differ in size`);
  if (opts.out && opts.out.size !== x.size) throw new ShapeError(`langevinStep: out ${fmtShape(opts.out.shape)} does not match x ${fmtShape(x.shape)}`);
  if (opts.out && opts.out.buffer === x.buffer) throw new ShapeError('langevinStep: `out` shares storage with x; omit `out` to update x in place');
  if (score.buffer === x.buffer && overlaps(x, score)) throw new ShapeError('langevinStep: score shares storage with x (x is written in place); pass a copy');
  if (opts.coef && opts.coef.size < 2) throw new ShapeError(`langevinStep: coef must hold 2 values, has shape ${fmtShape(opts.coef.shape)}`);
  const cols = opts.box ? opts.box.shape[opts.box.rank - 1] : 1;
  if (opts.box && (opts.box.rank !== 2 || opts.box.shape[0] !== 2 || x.size % cols !== 0 || x.shape[x.rank - 1] !== cols)) throw new ShapeError(`langevinStep: box must be [2, D] for x of rows of D coordinates, got box ${fmtShape(opts.box.shape)} for x ${fmtShape(x.shape)}`);
  if (!Number.isFinite(opts.step) || !Number.isFinite(opts.noiseScale)) throw new ShapeError(`langevinStep: step ${opts.step} and noiseScale ${opts.noiseScale} must be finite`);
  const k = resolveKey(device, opts.seed, opts);
  const inplace = opts.out ? 0 : 1;
  device.run(
    { file: FILE, source, entry: 'main', constants: { WG, INPLACE: inplace, USE_COEF: opts.coef ? 1 : 0, BOX: opts.box ? 1 : 0 } },
    {
      x,
      s: score,
      out: opts.out ?? device.dummy,
      clock: k.clock.buffer,
      // any read-only buffer will do when unused; the default clock is one that is never written
      coef: opts.coef ?? defaultClock(device).buffer,
      box: opts.box ?? defaultClock(device).buffer,
      p: { n: x.size, seed: k.seed, stream: k.stream, offset: k.offset, step: opts.step, noise: opts.noiseScale, cols },
    },
    grid1d(device, Math.ceil(x.size / 4), WG),
  );
  return opts.out ?? x;
}

/** Plain Langevin: x ← x + (α/2)·score + √α·z. */
export function langevinUpdate(
  x: Tensor,
  score: Tensor,
  alpha: number,
  seed?: number,
  opts: RandomOptions & { out?: Tensor } = {},
): Tensor {
  if (!(alpha >= 0)) throw new ShapeError(`langevinUpdate: step size α must be ≥ 0, got ${alpha}`);
  return langevinStep(x, score, { ...opts, seed, step: alpha / 2, noiseScale: Math.sqrt(alpha) });
}

function overlaps(a: Tensor, b: Tensor): boolean {
  return a.byteOffset < b.byteOffset + b.byteSize && b.byteOffset < a.byteOffset + a.byteSize;
}

/**
 * The z that langevinStep draws under the same key (seed, explicit stream, offset, clock): it is
 * randn's draw, computed by the same WGSL functions. Equivalently, run langevinStep with x = 0,
 * score = 0, step = 0, noiseScale = 1 and `out`. Needs an explicit stream to name a past draw.
 */
export function langevinNoise(device: Tensor['device'], shape: readonly number[], seed: number | undefined, opts: RandomOptions & { stream: number }): Tensor {
  return randn(device, shape, seed, opts);
}
