// Non-finite steps found on the device (shaders/guard.wgsl). A training step's loss and Σ grads²
// are checked by a one-invocation kernel inside the recorded step; a bad step is not applied (the
// optimizer and the EMA read the verdict from the optimizer's scratch and leave everything as it
// is) and the run's first bad step is kept with its first non-finite gradient element. The loss
// of the good steps accumulates in the same small buffer, so one read-back at the log interval
// brings the mean loss, the number of skipped steps and the first bad step together.
import source from '../../../shaders/guard.wgsl';
import type { Tensor } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { KernelError } from '../../gpu/errors.js';
import type { OptimState } from './optim.js';

const WORDS = 8;
const NONE = 0xffffffff;
/** Workgroups of `locate`: a small fixed grid (grid-stride), so the every-step dispatch costs next to nothing. */
const LOCATE_GROUPS = 16;

/** What the device knows about the steps since the last read. */
export interface HealthReading {
  /** Mean loss of the good steps since the last read (NaN if there were none). */
  loss: number;
  /** Good steps since the last read. */
  good: number;
  /** Steps skipped as non-finite since the last read. */
  skipped: number;
  /** The run's first non-finite step (0: none yet), its loss, its Σ grads², and its first non-finite gradient element (−1: none, the norm overflowed). */
  firstBad: { step: number; loss: number; gradSumSq: number; element: number } | null;
}

export class StepHealth {
  readonly buffer: GPUBuffer;
  disposed = false;
  constructor(readonly device: Device) {
    this.buffer = device.device.createBuffer({ size: 256, usage: 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8 /* COPY_DST */, label: 'step health' });
    this.clear();
  }

  /** Forget everything, the first bad step too (a new run, or a run resumed from a checkpoint). */
  clear(): void {
    const w = new Uint32Array(WORDS);
    w[4] = NONE;
    this.device.write(this.buffer, w);
  }

  /**
   * Encode the check of one step (inside the recorded step, after the loss and Σ grads² and before
   * the optimizer): `loss` [1], `gradSumSq` [1], `grads` the flat gradients, `state` the optimizer's.
   */
  check(loss: Tensor, gradSumSq: Tensor, grads: Tensor, state: OptimState): void {
    if (this.disposed) throw new KernelError('StepHealth used after dispose()');
    const bindings = { loss, gsq: gradSumSq, hyper: state.buffer, health: this.buffer, derived: state.scratch, grads, p: { n: grads.size } };
    this.device.run({ file: 'guard.wgsl', source, entry: 'check' }, bindings, 1);
    this.device.run({ file: 'guard.wgsl', source, entry: 'locate', constants: { WG: 64 } }, bindings, LOCATE_GROUPS);
  }

  /** One read-back; the interval's loss sum and counts start again from zero. */
  async read(): Promise<HealthReading> {
    const buf = await this.device.read(this.buffer, WORDS * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.device.write(this.buffer, new Uint32Array(3)); // lossSum, lossCount, skipped
    const good = u[1];
    return {
      loss: good > 0 ? f[0] / good : NaN,
      good,
      skipped: u[2],
      firstBad: u[3] === 0 ? null : { step: u[3], loss: f[5], gradSumSq: f[6], element: u[4] === NONE ? -1 : u[4] },
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.device.flush();
    this.buffer.destroy();
  }
}
