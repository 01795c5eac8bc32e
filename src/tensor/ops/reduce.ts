// Reductions (shaders/reduce.wgsl): sum / mean / max over any set of axes, sumTo (the adjoint of
// broadcasting), sumSquares and dot.
//
// Shapes: reduced axes are dropped (or kept as 1 with keepDims). A reduction over every axis
// without keepDims returns shape [1], not [] — one element, readable with item().
//
// Any set of axes works without a transpose: adjacent dims are merged into alternating
// kept/reduced blocks, and each reduced block — innermost first — is one [outer, len, inner]
// reduction that shrinks the data before the next. Long rows use a two-pass split. The launch
// shape depends on the adapter (kernelStyle: GPU trees vs thread-per-row on CPU adapters).
import source from '../../../shaders/reduce.wgsl';
import cols4Source from '../../../shaders/reduce_cols4.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import type { Device } from '../../gpu/device.js';

const FILE = 'reduce.wgsl';
const WG = 256;
/** Rows longer than this are split into chunks when there are too few rows to fill the device. */
const SPLIT_LEN = 8192;
const CHUNK = 4096;
/** A column reduction with fewer outputs than this is split along the reduced axis. */
const COL_MIN_THREADS = 8192;

type Red = 'sum' | 'max';
const REDS = { sum: 0, max: 1 } as const;
const LOADS = { x: 0, square: 1, mul: 2 } as const;
type Load = keyof typeof LOADS;

/** Normalise one axis (negative counts from the end); the error names the shape and the axis. */
export function normAxis(axis: number, shape: readonly number[], op: string): number {
  const r = shape.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) {
    throw new ShapeError(`${op}: axis ${axis} is out of range for shape ${fmtShape(shape)} (rank ${r})`);
  }
  return axis < 0 ? axis + r : axis;
}

/** Sorted, de-duplicated, non-negative axes; undefined means all. */
export function normAxes(axes: number | readonly number[] | undefined, shape: readonly number[], op: string): number[] {
  if (axes === undefined) return shape.map((_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(a, shape, op));
  const uniq = [...new Set(out)].sort((a, b) => a - b);
  if (uniq.length !== out.length) throw new ShapeError(`${op}: repeated axis in [${list.join(', ')}] for shape ${fmtShape(shape)}`);
  return uniq;
}

export function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const s: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) s.push(d);
    else if (keepDims) s.push(1);
  });
  return s.length ? s : [1];
}

/** Blocks of merged adjacent dims: [size, reduced] pairs, size-1 dims dropped. */
function blocks(shape: readonly number[], axes: readonly number[]): { size: number; red: boolean }[] {
  const b: { size: number; red: boolean }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const red = axes.includes(i);
    const last = b[b.length - 1];
    if (last && last.red === red) last.size *= d;
    else b.push({ size: d, red });
  });
  return b;
}

/**
 * How a reduction spreads over the adapter. 'gpu': TPR threads per row, strided coalesced reads and
 * a workgroup-memory tree. 'cpu' (llvmpipe/lavapipe, SwiftShader): one thread per row item and no
 * tree — on those, every barrier of a tree costs a pass over the whole workgroup (measured on
 * lavapipe: 1024 rows of 1024 sum in 108 ms with a 256-thread tree, 1.1 ms thread-per-row). Both
 * styles are tested on every adapter (the policy's rowStyle forces one; Device.withPolicy).
 */
export type KernelStyle = 'gpu' | 'cpu';

export function kernelStyle(d: Device): KernelStyle {
  const forced = d.policy.rowStyle;
  return forced === 'auto' ? d.caps.rowStyle : forced;
}

/** Threads per row for the 'gpu' style: about four elements each, a power of two from 1 to wg. */
export function threadsPerRow(len: number, wg = WG): number {
  let t = 1;
  while (t < wg && t * 4 < len) t *= 2;
  return t;
}

/**
 * Launch shape [workgroup size, threads per item] for `items` independent reductions of `len`
 * elements each. CPU style: one thread per item, workgroups small enough to give every core work.
 */
export function rowLaunch(d: Device, len: number, wg = WG, items = Infinity): [number, number] {
  if (kernelStyle(d) === 'cpu') {
    let w = 64;
    while (w > 8 && items < w * 8) w /= 2;
    return [w, 1];
  }
  const tpr = threadsPerRow(len, wg);
  return [Math.max(64, tpr), tpr];
}

/** One [outer, len, inner] reduction launch (or two, for long rows); returns [outer, inner]. */
function reduce3(x: Tensor, y: Tensor | null, outer: number, len: number, inner: number, red: Red, load: Load, scale: number, out?: Tensor): Tensor {
  const d = x.device;
  const init = red === 'max' ? -Infinity : 0;
  if (inner === 1) {
    const cpu = kernelStyle(d) === 'cpu';
    // long rows and too few of them to fill the device: chunks write partials, then reduce those
    if (cpu ? len > CHUNK && outer < 256 : len > SPLIT_LEN && outer < 64) {
      const nchunks = Math.ceil(len / CHUNK);
      const part = Tensor.empty(d, [outer * nchunks], 'reduce partials');
      const [wg, tpr] = cpu ? rowLaunch(d, CHUNK, WG, outer * nchunks) : [WG, WG];
      d.run(
        { file: FILE, source, entry: 'rows', constants: { WG: wg, TPR: tpr, RED: REDS[red], LOAD: LOADS[load] } },
        { x, y: y ?? d.dummy, out: part, p: { outer, len, inner: 1, chunk: CHUNK, nchunks, scale: 1, init } },
        grid1d(d, Math.ceil((outer * nchunks) / (wg / tpr)) * wg, wg),
      );
      const r = reduce3(part, null, outer, nchunks, 1, red, 'x', scale, out);
      part.dispose();
      return r;
    }
    const o = out ?? Tensor.empty(d, [outer]);
    const [wg, tpr] = rowLaunch(d, len, WG, outer);
    d.run(
      { file: FILE, source, entry: 'rows', constants: { WG: wg, TPR: tpr, RED: REDS[red], LOAD: LOADS[load] } },
      { x, y: y ?? d.dummy, out: o, p: { outer, len, inner: 1, chunk: Math.max(len, 1), nchunks: 1, scale, init } },
      grid1d(d, Math.ceil(outer / (wg / tpr)) * wg, wg),
    );
    return o;
  }
  const outputs = outer * inner;
  if (outputs < COL_MIN_THREADS && len >= 64) {
    // too few threads for the device: split the reduced axis, then reduce the partials
    const want = Math.ceil(COL_MIN_THREADS / outputs);
    const chunk = Math.max(16, Math.ceil(len / want));
    const nchunks = Math.ceil(len / chunk);
    if (nchunks > 1) {
      const part = Tensor.empty(d, [outer * nchunks * inner], 'reduce partials');
      d.run(
        { file: FILE, source, entry: 'cols', constants: { WG, RED: REDS[red], LOAD: LOADS[load] } },
        { x, y: y ?? d.dummy, out: part, p: { outer, len, inner, chunk, nchunks, scale: 1, init } },
        grid1d(d, outer * nchunks * inner, WG),
      );
      const r = reduce3(part, null, outer, nchunks, inner, red, 'x', scale, out);
      part.dispose();
      return r;
    }
  }
  const o = out ?? Tensor.empty(d, [outputs]);
  const aligned = (t: Tensor | null | undefined) => !t || t.byteOffset % 16 === 0;
  if (inner % 4 === 0 && aligned(x) && aligned(y) && aligned(o)) {
    // whole vec4s of columns: a quarter of the loads (shaders/reduce_cols4.wgsl)
    d.run(
      { file: 'reduce_cols4.wgsl', source: cols4Source, entry: 'cols4', constants: { WG: 64, RED: REDS[red], LOAD: LOADS[load] } },
      { x, y: y ?? d.dummy, out: o, p: { outer, len, inner, chunk: Math.max(len, 1), nchunks: 1, scale, init } },
      grid1d(d, outputs / 4, 64),
    );
    return o;
  }
  d.run(
    { file: FILE, source, entry: 'cols', constants: { WG, RED: REDS[red], LOAD: LOADS[load] } },
    { x, y: y ?? d.dummy, out: o, p: { outer, len, inner, chunk: Math.max(len, 1), nchunks: 1, scale, init } },
    grid1d(d, outputs, WG),
  );
  return o;
}

function reduceAxes(op: string, red: Red, x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean, mean: boolean): Tensor {
  const ax = normAxes(axes, x.shape, op);
  const outShape = reducedShape(x.shape, ax, keepDims);
  let count = 1;
  for (const a of ax) count *= x.shape[a];
  const finalScale = mean ? 1 / count : 1;
  const bl = blocks(x.shape, ax);
  const redBlocks = bl.filter((b) => b.red);
  if (x.size === 0) {
    // an empty reduction: every output is the identity (0, or -Infinity for max)
    return reshapeOwned(reduce3(x, null, numelOf(outShape), 0, 1, red, 'x', finalScale), outShape);
  }
  if (redBlocks.length === 0) {
    // every reduced dim has size 1: a (scaled) copy
    return reshapeOwned(reduce3(x, null, 1, 1, x.size, red, 'x', finalScale), outShape);
  }
  // innermost reduced block first; each launch shrinks the data
  let cur = x;
  let sizes = bl.map((b) => b.size);
  let isRed = bl.map((b) => b.red);
  let remaining = redBlocks.length;
  while (remaining > 0) {
    const k = isRed.lastIndexOf(true);
    const outer = sizes.slice(0, k).reduce((a, b) => a * b, 1);
    const inner = sizes.slice(k + 1).reduce((a, b) => a * b, 1);
    remaining--;
    const next = reduce3(cur, null, outer, sizes[k], inner, red, 'x', remaining === 0 ? finalScale : 1);
    if (cur !== x) cur.dispose();
    cur = next;
    sizes = [...sizes.slice(0, k), ...sizes.slice(k + 1)];
    isRed = [...isRed.slice(0, k), ...isRed.slice(k + 1)];
    // merge the now-adjacent kept blocks
    const ms: number[] = [], mr: boolean[] = [];
    sizes.forEach((s, i) => {
      if (mr.length && mr[mr.length - 1] === isRed[i]) ms[ms.length - 1] *= s;
      else { ms.push(s); mr.push(isRed[i]); }
    });
    sizes = ms;
    isRed = mr;
  }
  return reshapeOwned(cur, outShape);
}

function numelOf(s: readonly number[]) {
  return s.reduce((a, b) => a * b, 1);
}

/** Reshape a freshly made tensor and drop the original handle (storage is shared). */
function reshapeOwned(t: Tensor, shape: readonly number[]): Tensor {
  if (t.shape.length === shape.length && t.shape.every((v, i) => v === shape[i])) return t;
  const r = t.reshape(shape);
  t.dispose();
  return r;
}

/** Sum over `axes` (all when omitted); a full reduction without keepDims has shape [1]. */
export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return reduceAxes('sum', 'sum', x, axes, keepDims, false);
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return reduceAxes('mean', 'sum', x, axes, keepDims, true);
}

/** Maximum over `axes`; over zero elements it is -Infinity. */
export function max(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  return reduceAxes('max', 'max', x, axes, keepDims, false);
}

/**
 * Sum `x` down to `shape`, which must broadcast to x.shape (numpy rules): the gradient of a
 * broadcasting binary op with respect to its smaller input. Returns a tensor of exactly `shape`.
 */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  const xs = x.shape;
  const bad = () => new ShapeError(`sumTo: shape ${fmtShape(shape)} does not broadcast to ${fmtShape(xs)}`);
  if (shape.length > xs.length) {
    // leading 1s beyond x's rank are allowed
    const extra = shape.slice(0, shape.length - xs.length);
    if (extra.some((v) => v !== 1)) throw bad();
  }
  const lead = xs.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const t = i - lead >= 0 ? shape[i - lead] : undefined;
    if (t === undefined) axes.push(i);
    else if (t === xs[i]) continue;
    else if (t === 1) axes.push(i);
    else throw bad();
  }
  if (axes.length === 0) {
    const r = reduceAxes('sumTo', 'sum', x, [], true, false); // a copy: callers own the result
    return reshapeOwned(r, shape);
  }
  return reshapeOwned(reduceAxes('sumTo', 'sum', x, axes, true, false), shape);
}

/** Σ x² over every element, shape [1] (global gradient norms). */
export function sumSquares(x: Tensor): Tensor {
  return reduce3(x, null, 1, x.size, 1, 'sum', 'square', 1);
}

/** Σ a·b over every element (same number of elements), shape [1]. */
export function dot(a: Tensor, b: Tensor): Tensor {
  sameDevice('dot', a, b);
  if (a.size !== b.size) throw new ShapeError(`dot: ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ in size`);
  return reduce3(a, b, 1, a.size, 1, 'sum', 'mul', 1);
}
