// An f32 tensor on the GPU: a shape over a pooled storage buffer, contiguous and row-major.
// Reshape shares storage (reference counted). Autograd fields live here as plain data so that the
// autograd layer can attach its graph without this layer knowing its rules.
import { DeviceLocal, type Device, type Owned } from '../gpu/device.js';
import { ShapeError, fmtShape } from '../gpu/errors.js';
import { describe } from './describe.js';

/** A recorded operation: its inputs and how to turn the output's gradient into theirs. */
export interface GradNode {
  name: string;
  inputs: Tensor[];
  /** Gradients for each input (null where an input needs none), written with differentiable ops. */
  backward: (gradOut: Tensor) => (Tensor | null)[];
}

interface Storage {
  buffer: GPUBuffer;
  refs: number;
}

let nextId = 1;
/** The device's constants by key (Tensor.constant). */
const CONSTANTS = new DeviceLocal('constants', () => new Map<string, Tensor>());

export class Tensor implements Owned {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  private storage: Storage;
  disposed = false;
  label?: string;
  // autograd (see src/autograd): set by differentiable ops
  requiresGrad = false;
  gradFn: GradNode | null = null;
  grad: Tensor | null = null;

  private constructor(readonly device: Device, shape: readonly number[], storage: Storage, readonly byteOffset = 0) {
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.storage = storage;
    device.track(this);
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`tensor ${this.label ?? '#' + this.id} ${fmtShape(this.shape)} used after dispose()`);
    return this.storage.buffer;
  }
  get rank() {
    return this.shape.length;
  }
  get byteSize() {
    return this.size * 4;
  }

  /** Uninitialised tensor (pooled memory may hold old values: kernels must write every element). */
  static empty(device: Device, shape: readonly number[], label?: string): Tensor {
    checkDevice('Tensor.empty', device);
    if (!Array.isArray(shape)) throw new TypeError(`Tensor.empty: shape must be an array of non-negative integers, got ${describe(shape)}`);
    checkShape(shape, label ?? 'tensor');
    const buf = device.alloc(Math.max(4, numel(shape) * 4), `${label ?? 'tensor'} ${fmtShape(shape)}`);
    const t = new Tensor(device, shape, { buffer: buf, refs: 1 });
    t.label = label;
    return t;
  }

  static fromArray(device: Device, data: ArrayLike<number>, shape?: readonly number[], label?: string): Tensor {
    checkDevice('Tensor.fromArray', device);
    const isNumbers = (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array)) || (Array.isArray(data) && data.every((x) => typeof x === 'number'));
    if (!isNumbers) throw new TypeError(`Tensor.fromArray: data must be an array of numbers or a typed array, got ${describe(data)}`);
    if (shape !== undefined && !(Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0))) {
      throw new TypeError(`Tensor.fromArray: shape must be an array of non-negative integers, got ${describe(shape)}`);
    }
    const s = shape ?? [data.length];
    if (numel(s) !== data.length) throw new ShapeError(`Tensor.fromArray: ${data.length} values do not fill shape ${fmtShape(s)} (${numel(s)} elements)`);
    const t = Tensor.empty(device, s, label);
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    if (f.length) device.write(t.buffer, f);
    return t;
  }

  /**
   * A device-lifetime constant, uploaded once and cached by key (one-hot vectors, embedding
   * frequencies): safe to use inside a recorded step once it exists.
   */
  static constant(device: Device, key: string, data: ArrayLike<number>, shape: readonly number[]): Tensor {
    const cache = device.local(CONSTANTS);
    let t = cache.get(key);
    if (!t) {
      t = Tensor.fromArray(device, data, shape, key).keep();
      cache.set(key, t);
    }
    return t;
  }

  /** Overwrite the contents from the CPU (e.g. a new data batch before a replayed step). */
  write(data: ArrayLike<number>): void {
    if (data === null || typeof data !== 'object' || typeof data.length !== 'number') throw new TypeError(`Tensor.write: data must be an array of numbers or a typed array, got ${describe(data)}`);
    if (data.length !== this.size) throw new ShapeError(`Tensor.write: ${data.length} values for shape ${fmtShape(this.shape)}`);
    this.device.write(this.buffer, data instanceof Float32Array ? data : Float32Array.from(data), this.byteOffset);
  }

  async toArray(): Promise<Float32Array> {
    const ab = await this.device.read(this.buffer, this.size * 4, this.byteOffset);
    return new Float32Array(ab);
  }

  /** Read a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item() needs one element, tensor has shape ${fmtShape(this.shape)}`);
    return (await this.toArray())[0];
  }

  /** Same storage, another shape (one dimension may be -1). */
  reshape(shape: readonly number[]): Tensor {
    if (!Array.isArray(shape)) throw new TypeError(`reshape: shape must be an array of integers, got ${describe(shape)}`);
    const s = inferShape(shape, this.size, this.shape);
    this.storage.refs++;
    return new Tensor(this.device, s, this.storage, this.byteOffset);
  }

  /**
   * A tensor over `shape` elements of this one's storage starting at element `offset` (a flat
   * parameter arena hands out its parameters this way). The byte offset must meet the adapter's
   * minStorageBufferOffsetAlignment, since kernels bind the view at that offset.
   */
  view(offset: number, shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (offset < 0 || offset + n > this.size) throw new ShapeError(`view: ${fmtShape(shape)} at element ${offset} runs past ${fmtShape(this.shape)}`);
    const bytes = this.byteOffset + offset * 4;
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    if (bytes % align !== 0) throw new ShapeError(`view: byte offset ${bytes} is not a multiple of minStorageBufferOffsetAlignment ${align}`);
    this.storage.refs++;
    return new Tensor(this.device, shape, this.storage, bytes);
  }

  /** Same storage and shape, detached from the autograd graph. */
  detach(): Tensor {
    return this.reshape(this.shape);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.gradFn = null;
    if (--this.storage.refs === 0) this.device.free(this.storage.buffer);
  }

  /** Keep this tensor alive past the enclosing Device.scope. */
  keep(): this {
    this.device.keep(this);
    return this;
  }

  toString() {
    return `Tensor${fmtShape(this.shape)}${this.label ? ` '${this.label}'` : ''}`;
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkDevice(op: string, device: unknown): void {
  const d = device as { alloc?: unknown; pool?: unknown } | null;
  if (!d || typeof d !== 'object' || typeof d.alloc !== 'function' || !d.pool) {
    throw new TypeError(`${op}: device must be a Device (from createDevice()), got ${describe(device)}`);
  }
}

function checkShape(shape: readonly number[], what: string) {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: bad shape ${fmtShape(shape)} (dimensions must be non-negative integers)`);
  }
}

function inferShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = numel(s.filter((_, i) => i !== neg));
    s[neg] = rest === 0 ? 0 : size / rest;
  }
  if (numel(s) !== size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: cannot view shape ${fmtShape(from)} (${size} elements) as ${fmtShape(shape)}`);
  }
  return s;
}

/** Broadcast two shapes numpy-style; the error names both. */
export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function sameDevice(op: string, ...ts: Tensor[]): Device {
  const d = ts[0].device;
  for (const t of ts) if (t.device !== d) throw new Error(`${op}: tensors live on different devices`);
  return d;
}
