// On-device randomness (shaders/rng.wgsl): counter-based Philox4x32-10. A draw is a pure function
// of (seed, stream, offset, clock step, element index), so runs reproduce and resume.
//
// Keys:
// - `seed`   given → the draw is fully determined by (seed, stream ?? 0, offset ?? 0, clock step):
//   `randn(device, shape, 7)` twice gives the same numbers, as a seeded draw does in NumPy, JAX or
//   TF.js; nothing is consumed. Vary the stream, the offset or the clock to get other numbers.
// - `stream` given without a seed → the same, under the device's seed (setSeed; 0 until set).
// - neither → the draw takes a fresh `offset` from `device.rngOffset` (with the reserved stream
//   AUTO_STREAM) under the device's seed, so two successive calls differ, and two draws in one
//   recorded step differ. setSeed(device, s) resets that counter, so an eager program after setSeed
//   repeats exactly.
// - `clock`  the step word comes from a clock's storage buffer, read at run time: a recorded step
//   gets new numbers on every replay after setClock(clock, step), with the same bind groups (the
//   trainer and the samplers key their draws by seed, an explicit stream per draw, and a clock).
//   Without a clock the device-wide default clock (step 0) is bound.
import rngSource from '../../../shaders/rng.wgsl';
import keyPart from '../../../shaders/philox_key.wgsl';
import blockPart from '../../../shaders/philox_block.wgsl';
import { Tensor } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { DeviceLocal, type Device } from '../../gpu/device.js';
import { KernelError, ShapeError } from '../../gpu/errors.js';
import { stepWords, u32Of } from '../cpu/random.js';
import { spliceParts } from './wgsl_parts.js';

const FILE = 'rng.wgsl';
const WG = 64;
const MARKER = '// ---- KERNELS ----';

/** The Philox function library of rng.wgsl (no bindings), for kernels that draw their own noise. */
const PHILOX_WGSL: string = rngSource.slice(0, rngSource.indexOf(MARKER));

const PHILOX_PARTS = { 'philox_key.wgsl': keyPart, 'philox_block.wgsl': blockPart };

/**
 * A kernel that draws its own noise, completed: its `//! splice` lines filled with the shared Philox
 * parts (the key members of `p`, the block start of main), then the Philox library appended (the
 * kernel first, so compile errors point into its own lines; WGSL declarations are order-free).
 */
export function withPhilox(who: string, kernel: string): string {
  return `${spliceParts(who, kernel, PHILOX_PARTS)}\n${PHILOX_WGSL}`;
}

const rngKernel = spliceParts('random.ts', rngSource, PHILOX_PARTS);

/** Stream used by draws that take their offset from device.rngOffset; explicit streams must differ. */
export const AUTO_STREAM = 0xffffffff;

const KIND = { bits: 0, uniform: 1, normal: 2, rademacher: 3, randint: 4 } as const;

/**
 * A step counter on the device: a 16-byte storage buffer holding the step as (lo, hi) u32 words.
 * Kernels bind it read-only; `setClock` rewrites it between replays (outside a recording).
 */
export class Clock {
  readonly buffer: GPUBuffer;
  private _step = 0;
  disposed = false;
  constructor(readonly device: Device, label = 'rng clock') {
    // Storage | COPY_DST; WebGPU zero-initialises, so a new clock reads step 0.
    this.buffer = device.device.createBuffer({ size: 256, usage: 0x80 | 0x8, label });
  }
  get step(): number {
    return this._step;
  }
  set(step: number): void {
    if (this.disposed) throw new KernelError('Clock used after dispose()');
    const [lo, hi] = stepWords(step);
    this.device.write(this.buffer, Uint32Array.of(lo, hi, 0, 0));
    this._step = step;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Let queued work finish with it first: destroy only after a flush.
    this.device.flush();
    this.buffer.destroy();
  }
}

export function createClock(device: Device, step = 0): Clock {
  const c = new Clock(device);
  if (step !== 0) c.set(step);
  return c;
}

/** Write the step a clock holds (between replays; uploads are not allowed inside a recording). */
export function setClock(clock: Clock, step: number): void {
  clock.set(step);
}

const DEFAULT_CLOCK = new DeviceLocal('default rng clock', (d) => new Clock(d, 'default rng clock'));
/** The device-wide clock fixed at step 0 (bound when no clock is given). Never write it. */
export function defaultClock(device: Device): Clock {
  return device.local(DEFAULT_CLOCK);
}

/** The device's default seed (setSeed). */
const DEFAULT_SEED = new DeviceLocal('default seed', () => ({ seed: 0 }));
/** Set the device's default seed and restart its eager-draw counter (like torch.manual_seed). */
export function setSeed(device: Device, seed: number): void {
  device.local(DEFAULT_SEED).seed = u32Of(seed);
  device.rngOffset = 0;
}
export function getSeed(device: Device): number {
  return device.local(DEFAULT_SEED).seed;
}

export interface RandomOptions {
  /** Step source; default: the device's clock fixed at 0. */
  clock?: Clock;
  /** Explicit stream (default 0 when a seed is given): the draw consumes nothing from device.rngOffset. Must not be AUTO_STREAM. */
  stream?: number;
  /** Explicit counter offset (with a seed or a stream); default 0. */
  offset?: number;
}

/** Resolved Philox key and counter base of one draw (what the kernel's uniform gets). */
export interface ResolvedKey {
  seed: number;
  stream: number;
  offset: number;
  clock: Clock;
}

/**
 * Resolve (seed, stream, offset, clock) for a draw: an explicit seed or stream determines it;
 * with neither, it consumes one eager offset from the device.
 */
export function resolveKey(device: Device, seed: number | undefined, opts: RandomOptions = {}): ResolvedKey {
  const s = seed === undefined ? getSeed(device) : u32Of(seed);
  const clock = opts.clock ?? defaultClock(device);
  if (clock.device !== device) throw new KernelError('random: clock belongs to another device');
  if (opts.stream !== undefined || seed !== undefined) {
    const stream = u32Of(opts.stream ?? 0);
    if (stream === AUTO_STREAM) throw new KernelError(`random: stream ${AUTO_STREAM} is reserved for eager draws`);
    return { seed: s, stream, offset: u32Of(opts.offset ?? 0), clock };
  }
  if (opts.offset !== undefined) throw new KernelError('random: `offset` needs an explicit `seed` or `stream`');
  const offset = device.rngOffset >>> 0;
  device.rngOffset = (device.rngOffset + 1) % 2 ** 32;
  return { seed: s, stream: AUTO_STREAM, offset, clock };
}

function fillKind(kind: number, t: Tensor, seed: number | undefined, opts: RandomOptions, a: number, b: number, high: number): Tensor {
  const device = t.device;
  const k = resolveKey(device, seed, opts);
  device.run(
    { file: FILE, source: rngKernel, entry: 'main', constants: { WG, KIND: kind } },
    { clock: k.clock.buffer, out: t, p: { n: t.size, seed: k.seed, stream: k.stream, offset: k.offset, a, b, high, _pad: 0 } },
    grid1d(device, Math.ceil(t.size / 4), WG),
  );
  return t;
}

/** Standard normals (or mean + std·N(0,1)) written into `t` in place. */
export function fillRandn(t: Tensor, seed?: number, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return fillKind(KIND.normal, t, seed, opts, opts.mean ?? 0, opts.std ?? 1, 0);
}

/** Uniforms on [low, high) (default [0, 1)) written into `t`. */
export function fillRand(t: Tensor, seed?: number, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const lo = opts.low ?? 0;
  return fillKind(KIND.uniform, t, seed, opts, lo, (opts.high ?? 1) - lo, 0);
}

/** ±1 with equal probability written into `t`. */
export function fillRademacher(t: Tensor, seed?: number, opts: RandomOptions = {}): Tensor {
  return fillKind(KIND.rademacher, t, seed, opts, 0, 0, 0);
}

/** Integers in [0, high) stored as f32 (exact for high ≤ 2^24), written into `t`. */
export function fillRandint(t: Tensor, high: number, seed?: number, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(high) || high < 1 || high > 2 ** 24) throw new ShapeError(`randint: high must be an integer in [1, 2^24], got ${high}`);
  return fillKind(KIND.randint, t, seed, opts, 0, 0, high);
}

/** Raw Philox words; read them with `new Uint32Array((await t.toArray()).buffer)`. For tests. */
export function fillRandomBits(t: Tensor, seed?: number, opts: RandomOptions = {}): Tensor {
  return fillKind(KIND.bits, t, seed, opts, 0, 0, 0);
}

export function randn(device: Device, shape: readonly number[], seed?: number, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  return fillRandn(Tensor.empty(device, shape, 'randn'), seed, opts);
}

export function rand(device: Device, shape: readonly number[], seed?: number, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  return fillRand(Tensor.empty(device, shape, 'rand'), seed, opts);
}

export function rademacher(device: Device, shape: readonly number[], seed?: number, opts: RandomOptions = {}): Tensor {
  return fillRademacher(Tensor.empty(device, shape, 'rademacher'), seed, opts);
}

export function randint(device: Device, shape: readonly number[], high: number, seed?: number, opts: RandomOptions = {}): Tensor {
  return fillRandint(Tensor.empty(device, shape, 'randint'), high, seed, opts);
}

export function randomBits(device: Device, shape: readonly number[], seed?: number, opts: RandomOptions = {}): Tensor {
  return fillRandomBits(Tensor.empty(device, shape, 'random bits'), seed, opts);
}
