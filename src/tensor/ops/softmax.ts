// Softmax, log-softmax and their backward rules along any axis (shaders/softmax.wgsl). Numerically
// stable (max subtracted). The last axis runs TPR threads per row (up to a workgroup); other axes
// one thread per column.
import source from '../../../shaders/softmax.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { normAxis, rowLaunch } from './reduce.js';

const FILE = 'softmax.wgsl';
const OPS = { softmax: 0, logSoftmax: 1, softmaxBackward: 2, logSoftmaxBackward: 3 } as const;


function run(op: keyof typeof OPS, x: Tensor, g: Tensor | null, axis: number): Tensor {
  const d = g ? sameDevice(op, x, g) : x.device;
  if (x.rank === 0) throw new ShapeError(`${op}: needs at least one axis, got shape ${fmtShape(x.shape)}`);
  const ax = normAxis(axis, x.shape, op);
  if (g && (g.rank !== x.rank || g.shape.some((v, i) => v !== x.shape[i]))) {
    throw new ShapeError(`${op}: gradient ${fmtShape(g.shape)} does not match output ${fmtShape(x.shape)}`);
  }
  const len = x.shape[ax];
  const outer = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const out = Tensor.empty(d, x.shape);
  if (x.size === 0) return out;
  const p = { outer, len, inner };
  const bind = { x, g: g ?? d.dummy, out, p };
  if (inner === 1) {
    const [WG, TPR] = rowLaunch(d, len, 256, outer);
    d.run({ file: FILE, source, entry: 'rows', constants: { WG, TPR, OP: OPS[op] } }, bind, grid1d(d, Math.ceil(outer / (WG / TPR)) * WG, WG));
  } else {
    const WG = 64;
    d.run({ file: FILE, source, entry: 'cols', constants: { WG, OP: OPS[op] } }, bind, grid1d(d, outer * inner, WG));
  }
  return out;
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return run('softmax', x, null, axis);
}

/** x − logΣexp(x) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return run('logSoftmax', x, null, axis);
}

/** Gradient of softmax given its output y and the output gradient gy: y·(gy − Σ gy·y). */
export function softmaxBackward(y: Tensor, gy: Tensor, axis = -1): Tensor {
  return run('softmaxBackward', y, gy, axis);
}

/** Gradient of log-softmax given its output y and gy: gy − exp(y)·Σ gy. */
export function logSoftmaxBackward(y: Tensor, gy: Tensor, axis = -1): Tensor {
  return run('logSoftmaxBackward', y, gy, axis);
}
