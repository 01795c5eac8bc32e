// The thin runtime: one Device wraps adapter + GPUDevice, the kernel cache, the buffer pool and a
// command scheduler. Dispatches go into one open compute pass and are submitted only at sync points
// (read-back, flush, or an upload that must not overtake pending work). A Recording captures a
// step's dispatch list once and replays it with one encoder and one submit per step.
import { BufferPool } from './pool.js';
import { DeviceError, DeviceLostError, KernelError, LimitError } from './errors.js';
import { KernelCache, packParams, type Kernel, type KernelSpec, type ParamValue } from './kernel.js';
import { adapterCaps, type AdapterDescription, type Caps } from './caps.js';
import { defaultPolicy, mergePolicy, type KernelPolicy } from './policy.js';

export interface DeviceOptions {
  /** Use this GPU object (navigator.gpu or a Dawn `create()` result) instead of finding one. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Dawn only: backend to ask for ('vulkan', 'metal', 'd3d12', 'null'...). */
  backend?: string;
  /** Dawn only: pick the adapter whose name contains this text. */
  adapter?: string;
  /** Dawn only: extra `create()` flags, e.g. 'enable-dawn-features=...'. */
  dawnFlags?: string[];
  /** Ask for the `subgroups` feature when the adapter has it (default true). */
  subgroups?: boolean;
  /**
   * Node only: keep what Dawn and the Vulkan loader print while finding the adapter (e.g. Dawn's
   * "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..." on lavapipe) off stderr.
   * The `scoregpu` command sets this unless --debug; errors are still reported, as exceptions.
   */
  quiet?: boolean;
}

/** Something owning device memory that a scope may release (a Tensor). */
export interface Owned {
  dispose(): void;
  readonly disposed: boolean;
}

export type Binding = GPUBuffer | { buffer: GPUBuffer; byteOffset?: number; byteSize?: number } | GPUTextureView | Record<string, ParamValue>;

interface Dispatch {
  kernel: Kernel;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

/** rgba32float texels copied from a buffer into a texture, `rows` rows of `width` (Device.copyToTexture). */
export interface TextureCopy {
  buffer: GPUBuffer;
  texture: GPUTexture;
  width: number;
  rows: number;
}

/** What a recording holds, in order: kernel dispatches and the texture copies between them. */
export type Command = Dispatch | { copy: TextureCopy };

function encodeCopy(enc: GPUCommandEncoder, c: TextureCopy): void {
  enc.copyBufferToTexture({ buffer: c.buffer, bytesPerRow: c.width * 16, rowsPerImage: c.rows }, { texture: c.texture }, [c.width, c.rows]);
}

export class Recording {
  /** The kernel dispatches alone (tools that time them one by one). */
  readonly dispatches: Dispatch[];
  constructor(
    readonly device: Device,
    readonly commands: Command[],
    private owned: GPUBuffer[],
    /** The uniform buffers its bind groups hold: pinned on the device until dispose. */
    private uniforms: GPUBuffer[] = [],
  ) {
    this.dispatches = commands.filter((c): c is Dispatch => !('copy' in c));
  }
  get dispatchCount() {
    return this.dispatches.length;
  }
  /** Encode the captured commands into one command buffer and submit it. */
  replay(times = 1): void {
    this.device.checkAlive();
    this.device.flush();
    const enc = this.device.device.createCommandEncoder({ label: 'replay' });
    let pass = enc.beginComputePass();
    for (let t = 0; t < times; t++) {
      for (const d of this.commands) {
        if ('copy' in d) {
          // a copy cannot sit inside a compute pass
          pass.end();
          encodeCopy(enc, d.copy);
          pass = enc.beginComputePass();
          continue;
        }
        pass.setPipeline(d.kernel.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      }
    }
    pass.end();
    this.device.device.queue.submit([enc.finish()]);
    this.device.submits++;
  }
  dispose(): void {
    for (const b of this.owned) this.device.pool.release(b);
    this.owned = [];
    this.device.unpinUniforms(this.uniforms);
    this.uniforms = [];
  }
}

/**
 * A piece of per-device state of the layers above (scratch textures, constants, the default random
 * clock): made by `init` on first use and kept on the device (Device.local), so it lives and dies
 * with it.
 */
export class DeviceLocal<T> {
  constructor(
    readonly name: string,
    readonly init: (d: Device) => T,
  ) {}
}

interface Capture {
  commands: Command[];
  /** Buffers handed out during the capture and still held by a tensor. */
  allocated: Set<GPUBuffer>;
  /** Buffers released during the capture: the replay still writes them, so the recording keeps them. */
  released: GPUBuffer[];
  /** Uniform buffers the captured bind groups hold (pinned from first use). */
  uniforms: Set<GPUBuffer>;
}

export class Device {
  readonly pool: BufferPool;
  readonly kernels: KernelCache;
  readonly limits: GPUSupportedLimits;
  readonly features: Set<string>;
  readonly hasSubgroups: boolean;
  /** What the adapter is and can do, as kernel choices need it. */
  readonly caps: Caps;
  /** Number of queue submits so far (tests assert one per recorded step). */
  submits = 0;
  dispatches = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private inFlight: string[] = [];
  /**
   * Uniforms by content, least recently used first. Bounded: an adaptive ODE solve makes new values
   * (t, step sizes, coefficients) at every evaluation, a dozen an evaluation, so a bits/dim run of
   * 1000 images made ~300,000 and grew by ~50 MB a batch until this limit.
   */
  private uniformCache = new Map<string, GPUBuffer>();
  /** Most uniforms kept cached; past it the least recently used go (those a Recording holds stay alive). */
  uniformCacheLimit = 4096;
  /** Uniform buffers held by recordings (count of holders): evicted from the cache, they live on until unpinned. */
  private uniformPins = new Map<GPUBuffer, number>();
  private uniformKeys = new Map<GPUBuffer, string>();
  /** Evicted uniforms: a command still being encoded may use them, so they are destroyed after the next submit. */
  private retiredUniforms: GPUBuffer[] = [];
  private scopes: Owned[][] = [];
  private capture: Capture | null = null;
  private errors: Error[] = [];
  private lost: string | null = null;
  /** Per-device counter for eager random draws: each draw takes a fresh Philox offset. */
  rngOffset = 0;
  private currentPolicy: KernelPolicy = defaultPolicy();
  private locals = new Map<DeviceLocal<unknown>, unknown>();

  constructor(
    /** The object `create()` / navigator.gpu returned. Held for the device's whole life: Dawn
     *  crashes at random once it is garbage-collected. */
    readonly gpu: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly info: AdapterDescription,
  ) {
    this.pool = new BufferPool(device);
    this.kernels = new KernelCache(device);
    this.limits = device.limits;
    this.features = new Set([...device.features] as string[]);
    this.hasSubgroups = this.features.has('subgroups');
    this.caps = adapterCaps(info, this.features, this.limits, (adapter as { info?: { subgroupMinSize?: number } }).info?.subgroupMinSize);
    device.addEventListener?.('uncapturederror', (ev: any) => {
      const recent = this.inFlight.slice(-6).join(', ') || 'none';
      this.errors.push(new KernelError(`GPU error (kernels in flight: ${recent}): ${ev.error?.message ?? ev}`));
    });
    device.lost.then((i) => {
      this.lost = `${i.reason}: ${i.message}`;
    });
  }

  // ---------------------------------------------------------------- policy and per-device state

  /** The kernel policy in force (src/gpu/policy.ts): read by the ops' plan functions. */
  get policy(): Readonly<KernelPolicy> {
    return this.currentPolicy;
  }

  /**
   * Run `fn` under the policy changed by `change`, and restore the one before when it returns or
   * throws (for an async `fn`: when its promise settles; the change holds for everything run on
   * this device meanwhile).
   */
  withPolicy<T>(change: Partial<KernelPolicy>, fn: () => T): T {
    const before = this.currentPolicy;
    this.currentPolicy = mergePolicy(before, change);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.currentPolicy = before;
      throw e;
    }
    if (result instanceof Promise) {
      return result.finally(() => {
        this.currentPolicy = before;
      }) as T;
    }
    this.currentPolicy = before;
    return result;
  }

  /** This device's instance of a per-device state `key`, made on first use. */
  local<T>(key: DeviceLocal<T>): T {
    if (!this.locals.has(key)) this.locals.set(key, key.init(this));
    return this.locals.get(key) as T;
  }

  // ---------------------------------------------------------------- kernels and dispatch

  kernel(spec: KernelSpec): Kernel {
    return this.kernels.get(spec);
  }

  /**
   * Dispatch `kernel` with bindings given by the names the WGSL declares. Plain objects are packed
   * into the uniform of that name by reflection; tensors and buffers bind as storage.
   */
  run(spec: KernelSpec | Kernel, bindings: Record<string, Binding>, workgroups: number | [number, number?, number?]): void {
    this.checkAlive();
    const kernel = 'pipeline' in spec ? spec : this.kernel(spec);
    const wg: [number, number, number] = typeof workgroups === 'number' ? [workgroups, 1, 1] : [workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1];
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (wg.some((n) => n > maxWg)) throw new LimitError(`${kernel.name}: dispatch ${wg.join('×')} exceeds maxComputeWorkgroupsPerDimension ${maxWg}`);
    if (wg.some((n) => n === 0)) return; // empty tensor: nothing to do
    const entries: GPUBindGroupEntry[] = [];
    for (const [name, info] of kernel.bindings) {
      const b = bindings[name];
      if (b === undefined) throw new KernelError(`${kernel.name}: binding '${name}' not given (given: ${Object.keys(bindings).join(', ')})`);
      if (info.kind === 'uniform') {
        entries.push({ binding: info.binding, resource: { buffer: this.uniform(kernel.name, info, b as Record<string, ParamValue>) } });
      } else if (info.kind === 'texture' || info.kind === 'storage-texture') {
        entries.push({ binding: info.binding, resource: b as GPUTextureView });
      } else {
        const t = b as any;
        if (t.mapState !== undefined) entries.push({ binding: info.binding, resource: { buffer: t as GPUBuffer } });
        else if (t.byteOffset !== undefined) {
          // a Tensor (or view): bind exactly its bytes
          entries.push({ binding: info.binding, resource: { buffer: t.buffer, offset: t.byteOffset, size: Math.max(4, t.byteSize) } });
        } else entries.push({ binding: info.binding, resource: { buffer: t.buffer } });
      }
    }
    for (const name of Object.keys(bindings)) {
      if (!kernel.bindings.has(name)) throw new KernelError(`${kernel.name}: no binding named '${name}' (has ${[...kernel.bindings.keys()].join(', ')})`);
    }
    const bindGroup = this.device.createBindGroup({ layout: kernel.layout, entries });
    this.dispatches++;
    this.policy.observeDispatch?.(kernel.name, wg, bindings);
    if (this.capture) {
      this.capture.commands.push({ kernel, bindGroup, workgroups: wg });
      return;
    }
    const pass = this.openPass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    if (this.inFlight.length > 64) this.inFlight.splice(0, 32);
    this.inFlight.push(kernel.name);
  }

  /** Uniforms are immutable and cached by content, so no write can race a pending reader. */
  private uniform(kernelName: string, info: Parameters<typeof packParams>[1], values: Record<string, ParamValue>): GPUBuffer {
    const bytes = packParams(kernelName, info, values);
    let key = `${bytes.length}:`;
    const u32 = new Uint32Array(bytes.buffer);
    for (let i = 0; i < u32.length; i++) key += u32[i].toString(36) + ',';
    let buf = this.uniformCache.get(key);
    if (buf) {
      this.uniformCache.delete(key); // most recently used goes last
    } else {
      buf = this.device.createBuffer({ size: bytes.length, usage: 0x40 /* UNIFORM */, mappedAtCreation: true, label: `${kernelName} params` });
      new Uint8Array(buf.getMappedRange()).set(bytes);
      buf.unmap();
      this.uniformKeys.set(buf, key);
      this.evictUniforms(this.uniformCacheLimit - 1);
    }
    this.uniformCache.set(key, buf);
    if (this.capture && !this.capture.uniforms.has(buf)) {
      this.capture.uniforms.add(buf);
      this.uniformPins.set(buf, (this.uniformPins.get(buf) ?? 0) + 1);
    }
    return buf;
  }

  /** Drop least recently used uniforms until at most `keep` remain; pinned ones leave the cache but live on. */
  private evictUniforms(keep: number): void {
    for (const [key, buf] of this.uniformCache) {
      if (this.uniformCache.size <= Math.max(0, keep)) break;
      this.uniformCache.delete(key);
      if (!this.uniformPins.has(buf)) this.retireUniform(buf);
    }
  }

  private retireUniform(buf: GPUBuffer): void {
    this.uniformKeys.delete(buf);
    this.retiredUniforms.push(buf);
  }

  /** A recording is done with these uniforms: those no longer cached nor held by another recording go. */
  unpinUniforms(bufs: readonly GPUBuffer[]): void {
    for (const buf of bufs) {
      const n = (this.uniformPins.get(buf) ?? 0) - 1;
      if (n > 0) {
        this.uniformPins.set(buf, n);
        continue;
      }
      this.uniformPins.delete(buf);
      const key = this.uniformKeys.get(buf);
      if (key === undefined || this.uniformCache.get(key) !== buf) this.retireUniform(buf);
    }
    if (!this.encoder) this.destroyRetiredUniforms();
  }

  /** After a submit: nothing unsubmitted can name the retired uniforms (submitted work keeps its own hold). */
  private destroyRetiredUniforms(): void {
    if (this.lost !== null) return;
    for (const b of this.retiredUniforms) b.destroy();
    this.retiredUniforms = [];
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private openEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  get pending(): boolean {
    return this.encoder !== null;
  }

  /** Submit whatever has been encoded. */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.submits++;
    if (this.retiredUniforms.length) this.destroyRetiredUniforms();
  }

  /** Flush, wait for the queue, and throw any error the device reported. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwErrors();
  }

  private async throwErrors(): Promise<void> {
    const pend = this.kernels.pendingErrors.splice(0);
    const compile = (await Promise.all(pend)).filter((e): e is Error => !!e);
    // A shader that failed to compile also makes every dispatch of it fail; name the cause.
    if (compile.length) this.errors.unshift(...compile);
    // So does a buffer the device had no memory for: the first such names the tensor.
    const oom = (await Promise.all(this.pool.pendingErrors.splice(0))).filter((e): e is Error => !!e);
    if (oom.length) this.errors.unshift(oom[0]);
    if (this.errors.length) {
      const e = this.errors[0];
      this.errors = [];
      throw e;
    }
    this.checkAlive();
  }

  /** Throw DeviceLostError if the device is gone (lost, or destroyed). */
  checkAlive(): void {
    if (this.lost) throw new DeviceLostError(`the WebGPU device was lost (${this.lost})`);
  }

  /** Whether the device is gone (its loss reported, or destroy() called). */
  get isLost(): boolean {
    return this.lost !== null;
  }

  // ---------------------------------------------------------------- memory

  private dummyBuf: GPUBuffer | null = null;
  /** A small buffer to bind where a kernel's layout wants a binding the entry does not use. */
  get dummy(): GPUBuffer {
    return (this.dummyBuf ??= this.device.createBuffer({ size: 256, usage: 0x80 | 0x8, label: 'dummy' }));
  }

  /** A pooled storage buffer of at least `bytes`; `what` names the tensor in a limit error. */
  alloc(bytes: number, what = 'tensor'): GPUBuffer {
    this.checkAlive();
    const { maxStorageBufferBindingSize: bind, maxBufferSize: whole } = this.limits;
    if (bytes > Math.min(bind, whole)) {
      const [name, max] = bind <= whole ? ['maxStorageBufferBindingSize', bind] : ['maxBufferSize', whole];
      throw new LimitError(`${what} needs ${bytes} bytes, over the adapter's ${name} of ${max} bytes`);
    }
    const buf = this.pool.acquire(bytes, what);
    if (this.capture) this.capture.allocated.add(buf);
    return buf;
  }

  free(buf: GPUBuffer): void {
    // Buffers a recording used stay its own until it is disposed.
    if (this.capture?.allocated.delete(buf)) this.capture.released.push(buf);
    this.pool.release(buf);
  }

  /** Upload; flushes first when work is pending so the write cannot overtake earlier readers. */
  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (this.capture) throw new KernelError('upload inside a recording: write inputs before replay (Device.write) instead');
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copy `bytes` from a storage buffer back to the CPU. */
  async read(buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (this.capture) throw new KernelError('read-back inside a recording is not allowed');
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
    if (size > 0) this.openEncoder().copyBufferToBuffer(buf, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(1 /* READ */);
    } catch (e: any) {
      // A lost device fails the mapping first and resolves `lost` a moment later: wait briefly so
      // the error names the loss (a DeviceError a page or the CLI can tell apart) rather than the map.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 200))]);
      this.checkAlive();
      await this.throwErrors();
      throw new DeviceError(`read-back failed: ${e?.message ?? e}`);
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    await this.throwErrors();
    return out;
  }

  /**
   * Copy `rows` rows of `width` rgba32float texels from `buffer` into `texture`, in order with the
   * dispatches (recorded too): how packing passes that stage their texels in a buffer land them.
   */
  copyToTexture(c: TextureCopy): void {
    if (this.capture) {
      this.capture.commands.push({ copy: c });
      return;
    }
    encodeCopy(this.openEncoder(), c);
  }

  /** Encode a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (this.capture) throw new KernelError('copies inside a recording are not supported; use a kernel');
    this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  // ---------------------------------------------------------------- scopes

  /** Register something that a surrounding scope releases unless it is returned or kept. */
  track(o: Owned): void {
    const s = this.scopes[this.scopes.length - 1];
    if (s) s.push(o);
  }

  /** Remove `o` from the innermost scope holding it (it outlives the scope). */
  keep(o: Owned): void {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const j = this.scopes[i].indexOf(o);
      if (j >= 0) {
        this.scopes[i].splice(j, 1);
        return;
      }
    }
  }

  /**
   * Run `fn`; every tensor created inside and not reachable from its result is disposed at the end.
   * Returned tensors move to the enclosing scope.
   */
  scope<T>(fn: () => T): T {
    this.scopes.push([]);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.endScope(new Set());
      throw e;
    }
    if (result instanceof Promise) throw new Error('Device.scope takes a synchronous function');
    const keep = new Set<Owned>();
    collectOwned(result, keep, 0);
    this.endScope(keep);
    return result;
  }

  private endScope(keep: Set<Owned>): void {
    const s = this.scopes.pop()!;
    const parent = this.scopes[this.scopes.length - 1];
    for (const o of s) {
      if (keep.has(o)) parent?.push(o);
      else if (!o.disposed) o.dispose();
    }
  }

  // ---------------------------------------------------------------- recording

  /**
   * Capture every dispatch `fn` makes without running it. Buffers allocated during capture belong
   * to the recording (or to tensors returned by fn) so later eager work cannot reuse them.
   * Inputs that change per step must be written (Device.write) into tensors created before.
   */
  record<T>(fn: () => T): { recording: Recording; result: T } {
    this.flush();
    if (this.capture) throw new KernelError('nested recordings are not supported');
    this.capture = { commands: [], allocated: new Set(), released: [], uniforms: new Set() };
    let result: T;
    const cap = this.capture;
    try {
      result = this.scope(fn);
    } catch (e) {
      this.unpinUniforms([...cap.uniforms]);
      throw e;
    } finally {
      this.capture = null;
    }
    // Buffers released inside the capture went back to the pool, but the replay still uses them:
    // take them out again and give them to the recording.
    const owned = cap.released.filter((b) => this.pool.reclaim(b));
    return { recording: new Recording(this, cap.commands, owned, [...cap.uniforms]), result };
  }

  get capturing(): boolean {
    return this.capture !== null;
  }

  stats() {
    return { ...this.pool.stats(), kernels: this.kernels.size, submits: this.submits, dispatches: this.dispatches, uniforms: this.uniformCache.size, uniformsPinned: this.uniformPins.size, uniformsRetired: this.retiredUniforms.length };
  }

  /**
   * End the device and free everything it holds: every pooled and live buffer, the cached uniforms,
   * the per-device state of the layers above (constants, clocks), then the GPUDevice itself (which
   * frees whatever else was made on it). Tensors still held are unusable afterwards: any further
   * work throws DeviceLostError.
   */
  destroy(): void {
    if (this.lost === null) this.lost = 'destroyed: Device.destroy() was called';
    this.encoder = null;
    this.pass = null;
    this.capture = null;
    this.scopes = [];
    this.pool.destroyAll();
    for (const b of new Set([...this.uniformCache.values(), ...this.uniformPins.keys(), ...this.retiredUniforms])) b.destroy();
    this.uniformCache.clear();
    this.uniformPins.clear();
    this.uniformKeys.clear();
    this.retiredUniforms = [];
    this.dummyBuf?.destroy();
    this.dummyBuf = null;
    this.locals.clear();
    this.device.destroy();
  }
}

function collectOwned(v: unknown, out: Set<Owned>, depth: number): void {
  if (!v || typeof v !== 'object' || depth > 4) return;
  if (typeof (v as any).dispose === 'function' && 'disposed' in (v as any)) {
    out.add(v as Owned);
  }
  if (Array.isArray(v)) for (const x of v) collectOwned(x, out, depth + 1);
  else if (v.constructor === Object || v instanceof Map) {
    for (const x of v instanceof Map ? v.values() : Object.values(v)) collectOwned(x, out, depth + 1);
  }
}

// ------------------------------------------------------------------ acquisition

let dawnGpu: GPU | null = null;

/** Dawn's multi-line messages ("no suitable backends found\nAvailable adapters: ...") as one line. */
function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n').map((l) => l.trim().replace(/^\* /, '')).filter(Boolean).join('; ').replace(/:; /g, ': ');
}

/**
 * Run `fn` with file descriptor 2 pointed at /dev/null (Node on Linux/macOS): Dawn and the Vulkan
 * loader write their start-up warnings straight to fd 2 from C++, out of reach of
 * process.stderr. Adapter discovery happens synchronously inside requestAdapter(), so `fn` only
 * has to start the call. Node has no dup2, so the swap closes fd 2 and lets open() reuse the
 * lowest free descriptor. It is done for terminals and pipes only, and skipped whenever it could
 * go wrong (fd 2 a regular file or a socket, fd 0 or 1 closed, Windows): fd 2 then stays as it was.
 */
function withStderrSilenced<T>(fn: () => T): T {
  const proc = (globalThis as { process?: { platform?: string; getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs') as typeof import('node:fs') | undefined;
  if (!fs || proc?.platform === 'win32') return fn();
  let saved = -1;
  try {
    fs.fstatSync(0);
    fs.fstatSync(1);
    // A reopened regular file gets an offset of its own, no longer shared with the parent shell's:
    // later writes of other processes would overwrite ours. Terminals and pipes have no offset.
    const st = fs.fstatSync(2);
    if (!st.isCharacterDevice() && !st.isFIFO()) return fn();
    saved = fs.openSync('/dev/fd/2', 'a');
  } catch {
    if (saved >= 0) fs.closeSync(saved);
    return fn();
  }
  let swapped = false;
  try {
    fs.closeSync(2);
    const nul = fs.openSync('/dev/null', 'a');
    swapped = true;
    if (nul !== 2) fs.closeSync(nul); // cannot happen with fds 0 and 1 open; fd 2 stays closed for fn
  } catch {
    /* fd 2 may be closed: restored below */
  }
  try {
    return fn();
  } finally {
    try {
      if (swapped) fs.closeSync(2);
    } catch {
      /* already closed */
    }
    try {
      fs.openSync(`/dev/fd/${saved}`, 'a'); // lowest free descriptor: 2 again
    } finally {
      fs.closeSync(saved);
    }
  }
}

async function findGpu(opts: DeviceOptions): Promise<GPU> {
  if (opts.gpu) return opts.gpu;
  const nav = (globalThis as any).navigator;
  if (nav?.gpu && !opts.backend && !opts.dawnFlags) return nav.gpu as GPU;
  if (typeof process !== 'undefined' && process.versions?.node) {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const modName = 'webgpu';
    let mod: any;
    try {
      mod = await import(/* @vite-ignore */ modName);
    } catch (e: any) {
      throw new DeviceError(`could not load Dawn's Node bindings (npm package 'webgpu'): ${oneLine(e)}. Run 'npm install'.`);
    }
    Object.assign(globalThis, mod.globals);
    const flags = [...(opts.dawnFlags ?? [])];
    if (opts.backend) flags.push(`backend=${opts.backend}`);
    if (opts.adapter) flags.push(`adapter=${opts.adapter}`);
    if (!flags.length && dawnGpu) return dawnGpu;
    let g: GPU;
    try {
      g = mod.create(flags) as GPU;
    } catch (e) {
      throw new DeviceError(`Dawn refused ${flags.map((f) => `'${f}'`).join(' ')}: ${oneLine(e)}`);
    }
    if (!flags.length) dawnGpu = g; // keep it alive for the process: see DESIGN.md
    return g;
  }
  throw new DeviceError('WebGPU is not available: no navigator.gpu in this browser (try Chrome/Edge 113+, or enable WebGPU).');
}

export async function createDevice(opts: DeviceOptions = {}): Promise<Device> {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`createDevice: opts must be an options object, got ${opts === null ? 'null' : typeof opts}`);
  const gpu = await findGpu(opts);
  const quietly = <T>(fn: () => T): T => (opts.quiet ? withStderrSilenced(fn) : fn());
  let adapter: GPUAdapter | null;
  try {
    adapter = await quietly(() => gpu.requestAdapter({ powerPreference: opts.powerPreference }));
  } catch (e) {
    const hint = opts.adapter ? ` (--adapter '${opts.adapter}' matched none)` : '';
    throw new DeviceError(`no WebGPU adapter${hint}: ${oneLine(e)}`);
  }
  if (!adapter) {
    throw new DeviceError(
      'no WebGPU adapter found: install the Vulkan driver for your GPU, or on a machine without one Mesa\'s ' +
        'lavapipe (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers; Debian 12 needs Mesa >= 24 from ' +
        'bookworm-backports); scripts/setup-system.sh does this as root. `scoregpu info --debug` shows what Dawn saw.',
    );
  }
  const al = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
    maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
  };
  const requiredFeatures: GPUFeatureName[] = [];
  if (opts.subgroups !== false && adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  let device: GPUDevice;
  try {
    device = await quietly(() => adapter.requestDevice({ requiredLimits, requiredFeatures }));
  } catch (e) {
    throw new DeviceError(`the adapter refused to create a device: ${oneLine(e)}`);
  }
  const i: any = (adapter as any).info ?? {};
  const info: AdapterDescription = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    backend: i.backend ?? (typeof process !== 'undefined' && process.versions?.node ? 'dawn' : 'browser'),
    isFallback: !!(i.isFallbackAdapter ?? (adapter as any).isFallbackAdapter),
  };
  return new Device(gpu, adapter, device, info);
}
