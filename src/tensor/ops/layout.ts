// Layout ops (shaders/layout.wgsl): transpose (general permute, tiled fast path for swapping the
// last two dims), concat, slice, padTo (the slice adjoint), gather / gatherBackward, copyInto.
// Every op first merges dimensions that move together, so most calls run a rank-1..3 kernel; the
// rank is a pipeline constant so the index decode unrolls (8× faster on lavapipe than a loop over
// uniform arrays).
import source from '../../../shaders/layout.wgsl';
import vec4Source from '../../../shaders/copy_vec4.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { normAxis, kernelStyle } from './reduce.js';

const FILE = 'layout.wgsl';
const WG = 256;
const MAX_RANK = 8;

interface P {
  n: number; rank?: number; sbase?: number; dbase?: number; a?: number; b?: number; c?: number; d?: number;
  shape?: number[]; s1?: number[]; s2?: number[]; s3?: number[];
}
function params(q: P) {
  return { rank: 0, sbase: 0, dbase: 0, a: 0, b: 0, c: 0, d: 0, shape: [], s1: [], s2: [], s3: [], ...q };
}

function launch(entry: string, x: Tensor | GPUBuffer, out: Tensor, q: P, idx?: Tensor, groups?: [number, number, number]) {
  const d = out.device;
  const ranked = entry === 'permute' || entry === 'box' || entry === 'pad';
  const constants: Record<string, number> = entry === 'transpose2d' ? {} : ranked ? { WG, RANK: q.rank ?? 0 } : { WG };
  d.run({ file: FILE, source, entry, constants }, { x, idx: idx ?? d.dummy, out, p: params(q) }, groups ?? grid1d(d, q.n, WG));
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Permute dimensions: out.shape[i] = x.shape[perm[i]]. Any rank (merged dims must fit rank 8);
 * swapping the last two (merged) dims takes a tiled kernel with coalesced reads and writes.
 */
export function transpose(x: Tensor, perm: number[]): Tensor {
  const r = x.rank;
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError(`transpose: perm [${perm.join(', ')}] is not a permutation of the axes of shape ${fmtShape(x.shape)}`);
  }
  const outShape = perm.map((p) => x.shape[p]);
  const out = Tensor.empty(x.device, outShape);
  if (x.size === 0) return out;
  // drop size-1 dims, then merge input dims that stay adjacent and in order
  const keep = perm.filter((p) => x.shape[p] !== 1);
  const kept = [...keep].sort((a, b) => a - b);
  const rankOf = new Map(kept.map((a, i) => [a, i]));
  let p2 = keep.map((a) => rankOf.get(a)!);
  let sh = kept.map((a) => x.shape[a]);
  // merge: input dims i and i+1 merge when i+1 directly follows i in the output order
  for (let changed = true; changed; ) {
    changed = false;
    for (let j = 0; j + 1 < p2.length; j++) {
      if (p2[j + 1] === p2[j] + 1) {
        const i = p2[j];
        sh = [...sh.slice(0, i), sh[i] * sh[i + 1], ...sh.slice(i + 2)];
        p2 = [...p2.slice(0, j + 1), ...p2.slice(j + 2)].map((v) => (v > i ? v - 1 : v));
        changed = true;
        break;
      }
    }
  }
  const n = x.size;
  const k = p2.length;
  if (k <= 1) {
    launch('copy', x, out, { n });
    return out;
  }
  const swapLast = p2[k - 1] === k - 2 && p2[k - 2] === k - 1 && p2.slice(0, k - 2).every((v, i) => v === i);
  const batch = prod(sh.slice(0, k - 2));
  const max = x.device.limits.maxComputeWorkgroupsPerDimension;
  const R = sh[k - 2], C = sh[k - 1];
  // The tile's barrier is cheap on a GPU and costly on CPU adapters (lavapipe: 89 ms tiled vs 19 ms
  // permute for 64×128×128), so CPU adapters take the permute kernel.
  if (swapLast && kernelStyle(x.device) === 'gpu' && batch <= max && Math.ceil(C / 16) <= max && Math.ceil(R / 16) <= max) {
    launch('transpose2d', x, out, { n, a: R, b: C }, undefined, [Math.ceil(C / 16), Math.ceil(R / 16), batch]);
    return out;
  }
  if (k > MAX_RANK) throw new ShapeError(`transpose: shape ${fmtShape(x.shape)} with perm [${perm.join(', ')}] needs rank ${k} after merging, over ${MAX_RANK}`);
  const inStr = contiguousStrides(sh);
  launch('permute', x, out, { n, rank: k, shape: p2.map((a) => sh[a]), s1: p2.map((a) => inStr[a]) });
  return out;
}

/** Merge box-copy dims that are contiguous in both source and destination; drop size-1 dims. */
function mergeBox(shape: number[], s1: number[], s2: number[]) {
  const sh: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const j = sh.length - 1;
    if (j >= 0 && a[j] === s1[i] * shape[i] && b[j] === s2[i] * shape[i]) {
      sh[j] *= shape[i];
      a[j] = s1[i];
      b[j] = s2[i];
    } else {
      sh.push(shape[i]);
      a.push(s1[i]);
      b.push(s2[i]);
    }
  }
  return { shape: sh, s1: a, s2: b };
}

function boxCopy(op: string, src: Tensor, dst: Tensor, shape: number[], s1: number[], s2: number[], sbase: number, dbase: number) {
  const n = prod(shape);
  if (n === 0) return;
  const m = mergeBox(shape, s1, s2);
  if (m.shape.length > MAX_RANK) throw new ShapeError(`${op}: box ${fmtShape(shape)} needs rank ${m.shape.length} after merging, over ${MAX_RANK}`);
  if (m.shape.length <= 1 && sbase === 0 && dbase === 0 && (m.s1[0] ?? 1) === 1 && (m.s2[0] ?? 1) === 1) {
    launch('copy', src, dst, { n });
    return;
  }
  if (vec4Rows(src, dst, m, sbase, dbase)) return;
  launch('box', src, dst, { n, rank: m.shape.length, sbase, dbase, shape: m.shape, s1: m.s1, s2: m.s2 });
}

/**
 * A merged box of rows with unit inner strides, where every row length, stride and base is a
 * multiple of 4 floats (channel concatenation and slices of NCHW tensors with H·W % 4 == 0, or
 * channel counts that are): shaders/copy_vec4.wgsl, one vec4 per invocation (×3–4 on lavapipe).
 */
function vec4Rows(src: Tensor, dst: Tensor, m: { shape: number[]; s1: number[]; s2: number[] }, sbase: number, dbase: number): boolean {
  const r = m.shape.length;
  if (r < 1 || r > 2 || m.s1[r - 1] !== 1 || m.s2[r - 1] !== 1) return false;
  const w = m.shape[r - 1], rows = r === 2 ? m.shape[0] : 1;
  const ss = r === 2 ? m.s1[0] : 0, ds = r === 2 ? m.s2[0] : 0;
  if ([w, ss, ds, sbase, dbase, src.size, dst.size].some((v) => v % 4 !== 0) || src.byteOffset % 16 !== 0 || dst.byteOffset % 16 !== 0) return false;
  const d = dst.device;
  const gx = Math.ceil(w / 4 / 64);
  const maxWg = d.limits.maxComputeWorkgroupsPerDimension;
  if (gx > maxWg) return false;
  d.run(
    { file: 'copy_vec4.wgsl', source: vec4Source, entry: 'rows', constants: { WG: 64 } },
    { x: src, out: dst, p: { w: w / 4, rows, ss: ss / 4, ds: ds / 4, sbase: sbase / 4, dbase: dbase / 4, _p0: 0, _p1: 0 } },
    [gx, Math.min(rows, 65535), Math.ceil(rows / 65535)],
  );
  return true;
}

/** Join tensors along `axis` (negative counts from the end); all other dims must match. */
export function concat(xs: Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: no tensors given');
  const d = sameDevice('concat', ...xs);
  const ref = xs[0].shape;
  const ax = normAxis(axis, ref, 'concat');
  for (const t of xs) {
    if (t.rank !== ref.length || t.shape.some((v, i) => i !== ax && v !== ref[i])) {
      throw new ShapeError(`concat: shape ${fmtShape(t.shape)} does not match ${fmtShape(ref)} outside axis ${axis}`);
    }
  }
  const total = xs.reduce((a, t) => a + t.shape[ax], 0);
  const outShape = ref.map((v, i) => (i === ax ? total : v));
  const out = Tensor.empty(d, outShape);
  const outer = prod(ref.slice(0, ax));
  const inner = prod(ref.slice(ax + 1));
  let off = 0;
  for (const t of xs) {
    const w = t.shape[ax] * inner;
    boxCopy('concat', t, out, [outer, w], [w, 1], [total * inner, 1], 0, off * inner);
    off += t.shape[ax];
  }
  return out;
}

function checkBox(op: string, shape: readonly number[], starts: readonly number[], sizes: readonly number[], what: string) {
  if (starts.length !== shape.length || sizes.length !== shape.length) {
    throw new ShapeError(`${op}: starts [${starts.join(', ')}] and sizes [${sizes.join(', ')}] must both have rank ${shape.length} of ${what} ${fmtShape(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    if (!Number.isInteger(starts[i]) || !Number.isInteger(sizes[i]) || starts[i] < 0 || sizes[i] < 0 || starts[i] + sizes[i] > shape[i]) {
      throw new ShapeError(`${op}: box at [${starts.join(', ')}] of size [${sizes.join(', ')}] does not fit ${what} ${fmtShape(shape)} (axis ${i})`);
    }
  }
}

/** Contiguous copy of the box x[starts : starts + sizes]. */
export function slice(x: Tensor, starts: number[], sizes: number[]): Tensor {
  checkBox('slice', x.shape, starts, sizes, 'input');
  const out = Tensor.empty(x.device, sizes);
  const st = contiguousStrides(x.shape);
  const sbase = starts.reduce((a, s, i) => a + s * st[i], 0);
  boxCopy('slice', x, out, [...sizes], st, contiguousStrides(sizes), sbase, 0);
  return out;
}

/** Zero-filled tensor of `shape` with x placed at `starts` (the adjoint of slice). */
export function padTo(x: Tensor, shape: readonly number[], starts: number[]): Tensor {
  checkBox('padTo', shape, starts, x.shape, 'output');
  const out = Tensor.empty(x.device, shape);
  const n = out.size;
  if (n === 0) return out;
  // merge output dims where x spans the whole extent of the inner one
  const sh: number[] = [], st: number[] = [], xs: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const j = sh.length - 1;
    if (j >= 0 && x.shape[i] === shape[i] && starts[i] === 0) {
      // x spans this dim whole: fold it into the previous one (its start scales with it)
      sh[j] *= shape[i]; xs[j] *= x.shape[i]; st[j] *= shape[i];
    } else {
      sh.push(shape[i]); st.push(starts[i]); xs.push(x.shape[i]);
    }
  }
  if (sh.length > MAX_RANK) throw new ShapeError(`padTo: ${fmtShape(shape)} needs rank ${sh.length} after merging, over ${MAX_RANK}`);
  launch('pad', x, out, { n, rank: sh.length, shape: sh, s1: contiguousStrides(xs), s2: st, s3: xs });
  return out;
}

/**
 * Entries of x picked along `axis` by the integer indices held in the f32 tensor `idx` (any
 * shape, read flat): out.shape = x.shape with shape[axis] replaced by idx.size. Data batching and
 * embedding lookups. An index outside [0, len) yields zeros (a kernel cannot throw).
 */
export function gather(x: Tensor, idx: Tensor, axis = 0): Tensor {
  const d = sameDevice('gather', x, idx);
  const ax = normAxis(axis, x.shape, 'gather');
  const outer = prod(x.shape.slice(0, ax)), len = x.shape[ax], inner = prod(x.shape.slice(ax + 1)), m = idx.size;
  const out = Tensor.empty(d, x.shape.map((v, i) => (i === ax ? m : v)));
  launch('gather', x, out, { n: out.size, a: outer, b: len, c: m, d: inner }, idx);
  return out;
}

/**
 * Adjoint of gather: a tensor of `xShape` with gy's slices summed into the rows idx names.
 * Deterministic (no atomics); costs xShape[axis]·idx.size per output element, for small counts.
 */
export function gatherBackward(gy: Tensor, idx: Tensor, xShape: readonly number[], axis = 0): Tensor {
  const d = sameDevice('gatherBackward', gy, idx);
  const ax = normAxis(axis, xShape, 'gatherBackward');
  const outer = prod(xShape.slice(0, ax)), len = xShape[ax], inner = prod(xShape.slice(ax + 1)), m = idx.size;
  const want = xShape.map((v, i) => (i === ax ? m : v));
  if (gy.rank !== want.length || gy.shape.some((v, i) => v !== want[i])) {
    throw new ShapeError(`gatherBackward: gradient ${fmtShape(gy.shape)} does not match ${fmtShape(want)} (${m} indices along axis ${axis} of ${fmtShape(xShape)})`);
  }
  const out = Tensor.empty(d, xShape);
  launch('gather_backward', gy, out, { n: out.size, a: outer, b: len, c: m, d: inner }, idx);
  return out;
}

/** dst ← src elementwise (same element count; shapes may differ). Works inside recordings. */
export function copyInto(dst: Tensor, src: Tensor): Tensor {
  const d = sameDevice('copyInto', dst, src);
  if (dst.size !== src.size) throw new ShapeError(`copyInto: source ${fmtShape(src.shape)} and destination ${fmtShape(dst.shape)} differ in size`);
  if (dst.size === 0) return dst;
  if (dst.buffer === src.buffer) {
    // views of one arena: a buffer cannot be bound for reading and writing in one dispatch
    if (dst.byteOffset === src.byteOffset) return dst;
    const tmp = Tensor.empty(d, src.shape);
    launch('copy', src, tmp, { n: src.size });
    launch('copy', tmp, dst, { n: src.size });
    tmp.dispose();
    return dst;
  }
  launch('copy', src, dst, { n: src.size });
  return dst;
}
