// Average pooling and nearest upsampling by an integer factor k over NCHW (shaders/pool.wgsl; k = 2,
// the U-Net's factor, by vec2 kernels: pool2.wgsl, pool2_down.wgsl),
// with their adjoints: avgPool2dBackward = upsample·(1/k²), upsampleNearest2dBackward = k×k block sums.
// Inputs may be [..., H, W] of any rank ≥ 2: the leading dims are treated as N·C planes.
import source from '../../../shaders/pool.wgsl';
import up2Source from '../../../shaders/pool2.wgsl';
import down2Source from '../../../shaders/pool2_down.wgsl';
import { Tensor } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';

const FILE = 'pool.wgsl';
const WG = 256;

function checkK(op: string, k: number) {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`${op}: factor k must be a positive integer, got ${k}`);
}

function down(op: string, x: Tensor, k: number, scale: number): Tensor {
  checkK(op, k);
  if (x.rank < 2) throw new ShapeError(`${op}: needs [N, C, H, W] (rank >= 2), got ${fmtShape(x.shape)}`);
  const h = x.shape[x.rank - 2], w = x.shape[x.rank - 1];
  if (h % k !== 0 || w % k !== 0) throw new ShapeError(`${op}: spatial dims of ${fmtShape(x.shape)} are not multiples of k=${k}`);
  const out = Tensor.empty(x.device, [...x.shape.slice(0, -2), h / k, w / k]);
  if (k === 2 && x.byteOffset % 8 === 0) {
    x.device.run({ file: 'pool2_down.wgsl', source: down2Source, entry: 'down2', constants: { WG: 64 } }, { x2: x, out, p: { n: out.size, w: w / 2, scale, _p0: 0 } }, grid1d(x.device, out.size, 64));
    return out;
  }
  x.device.run({ file: FILE, source, entry: 'down', constants: { WG } }, { x, out, p: { n: out.size, h, w, k, scale } }, grid1d(x.device, out.size, WG));
  return out;
}

function up(op: string, x: Tensor, k: number, scale: number): Tensor {
  checkK(op, k);
  if (x.rank < 2) throw new ShapeError(`${op}: needs [N, C, H, W] (rank >= 2), got ${fmtShape(x.shape)}`);
  const h = x.shape[x.rank - 2] * k, w = x.shape[x.rank - 1] * k;
  const out = Tensor.empty(x.device, [...x.shape.slice(0, -2), h, w]);
  if (k === 2 && out.byteOffset % 8 === 0) {
    x.device.run({ file: 'pool2.wgsl', source: up2Source, entry: 'up2', constants: { WG: 64 } }, { x, out2: out, p: { n: x.size, w: w / 2, scale, _p0: 0 } }, grid1d(x.device, x.size, 64));
    return out;
  }
  x.device.run({ file: FILE, source, entry: 'up', constants: { WG } }, { x, out, p: { n: out.size, h, w, k, scale } }, grid1d(x.device, out.size, WG));
  return out;
}

/** Mean over each k×k block (kernel = stride = k); H and W must be multiples of k. */
export function avgPool2d(x: Tensor, k: number): Tensor {
  return down('avgPool2d', x, k, 1 / (k * k));
}

/** Each pixel repeated into a k×k block. */
export function upsampleNearest2d(x: Tensor, k: number): Tensor {
  return up('upsampleNearest2d', x, k, 1);
}

/** Gradient of avgPool2d: gy spread over each block, divided by k². */
export function avgPool2dBackward(gy: Tensor, k: number): Tensor {
  return up('avgPool2dBackward', gy, k, 1 / (k * k));
}

/** Gradient of upsampleNearest2d: the sum over each k×k block. */
export function upsampleNearest2dBackward(gy: Tensor, k: number): Tensor {
  return down('upsampleNearest2dBackward', gy, k, 1);
}
