// Buffer pool with size classes. Buffers are never destroyed while pooled: WebGPU orders all work
// on one queue, so a buffer released here and handed out again is only written by commands that
// run after every earlier reader (uploads are the exception: Device.write flushes first).

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
  liveBytes = 0;
  peakBytes = 0;
  pooledBytes = 0;
  allocations = 0;

  constructor(private device: GPUDevice) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.allocations++;
    }
    this.liveBytes += size;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.liveBytes -= size;
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
    return true;
  }

  /** Destroy every pooled (unused) buffer; call after the queue has drained. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  stats() {
    return { liveBytes: this.liveBytes, peakBytes: this.peakBytes, pooledBytes: this.pooledBytes, allocations: this.allocations };
  }
}
