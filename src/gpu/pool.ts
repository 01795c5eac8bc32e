// Buffer pool with size classes. Buffers are never destroyed while pooled: WebGPU orders all work
// on one queue, so a buffer released here and handed out again is only written by commands that
// run after every earlier reader (uploads are the exception: Device.write flushes first).

import { OutOfMemoryError } from './errors.js';

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Round up to a size class: 256 B minimum, then steps of 2^k and 1.5·2^k (waste ≤ 33%). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  const p = 2 ** Math.floor(Math.log2(b));
  if (b === p) return p;
  if (b <= p * 1.5) return Math.ceil(p * 1.5 / 16) * 16;
  return p * 2;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Every buffer this pool made and has not destroyed (Device.destroy frees them all). */
  private made = new Set<GPUBuffer>();
  liveBytes = 0;
  /** Buffers handed out and not released: the storage of live tensors (and recordings). */
  liveBuffers = 0;
  peakBytes = 0;
  pooledBytes = 0;
  allocations = 0;
  /**
   * Out-of-memory checks of new buffers (an error scope each), settled asynchronously: the device
   * awaits them at its next sync and throws an OutOfMemoryError naming the tensor before anything else.
   */
  pendingErrors: Promise<Error | null>[] = [];

  constructor(private device: GPUDevice) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.pooledBytes -= size;
    } else {
      buf = this.create(size, label);
      this.allocations++;
    }
    this.liveBytes += size;
    this.liveBuffers++;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return buf;
  }

  /** A new buffer, watched for out-of-memory (WebGPU reports it asynchronously, through an error scope). */
  private create(size: number, label?: string): GPUBuffer {
    const d = this.device;
    d.pushErrorScope('out-of-memory');
    const buf = d.createBuffer({ size, usage: STORAGE_USAGE, label });
    const live = this.liveBytes;
    this.pendingErrors.push(
      d.popErrorScope().then(
        (e) => e && new OutOfMemoryError(`out of GPU memory for ${label ?? 'a tensor'}: ${size} bytes, with ${live} bytes live on the device (the adapter's maxBufferSize is ${d.limits.maxBufferSize} bytes): ${e.message}`),
        () => null, // a lost device rejects the scope; the loss is reported instead
      ),
    );
    this.made.add(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.liveBytes -= size;
    this.liveBuffers--;
    this.pooledBytes += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
  }

  /** Take a specific buffer back out of the free lists (a recording keeps what it used). */
  reclaim(buf: GPUBuffer): boolean {
    const list = this.free.get(buf.size);
    const i = list ? list.indexOf(buf) : -1;
    if (i < 0) return false;
    list!.splice(i, 1);
    this.pooledBytes -= buf.size;
    this.liveBytes += buf.size;
    this.liveBuffers++;
    return true;
  }

  /** Destroy every pooled (unused) buffer; call after the queue has drained. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        b.destroy();
        this.made.delete(b);
      }
    }
    this.free.clear();
    this.pooledBytes = 0;
  }

  /** Destroy every buffer the pool made, pooled or still held (the device is going away). */
  destroyAll(): void {
    for (const b of this.made) b.destroy();
    this.made.clear();
    this.free.clear();
    this.liveBytes = this.pooledBytes = this.liveBuffers = 0;
  }

  stats() {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers, peakBytes: this.peakBytes, pooledBytes: this.pooledBytes, allocations: this.allocations };
  }
}
