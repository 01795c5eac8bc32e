// Float64 reference of the samplers' fused update (shaders/affine_update.wgsl):
//   x̂₀ = p·x + q·out, [clamp to [lo, hi]], v = a·x + b·x̂₀ + c·z, [v ← known + mask·(v − known)].
import type { UpdateCoef } from '../ops/affine_update.js';

export function affineUpdateRef(
  x: ArrayLike<number>, out: ArrayLike<number>, z: ArrayLike<number>, k: UpdateCoef,
  o: { clip?: boolean; mask?: ArrayLike<number>; known?: ArrayLike<number> } = {},
): Float64Array {
  const r = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let x0 = k.p * x[i] + k.q * out[i];
    if (o.clip) x0 = Math.min(Math.max(x0, k.lo ?? -1), k.hi ?? 1);
    let v = k.a * x[i] + k.b * x0 + k.c * z[i];
    if (o.mask && o.known) v = o.known[i] + o.mask[i] * (v - o.known[i]);
    r[i] = v;
  }
  return r;
}

/** Float64 reference of gather_bytes.wgsl: rows idx of u8 rows, scaled (an index out of range gives 0). */
export function gatherBytesRef(bytes: Uint8Array, row: number, idx: ArrayLike<number>, scale: number, shift: number): Float64Array {
  const rows = bytes.length / row;
  const out = new Float64Array(idx.length * row);
  for (let m = 0; m < idx.length; m++) {
    const r = Math.round(idx[m]);
    for (let k = 0; k < row; k++) out[m * row + k] = r >= 0 && r < rows ? bytes[r * row + k] * scale + shift : 0;
  }
  return out;
}

/** Float64 reference of inpaint_project.wgsl: known pixels (m ≥ 0.5) ← mean·y + std·z, the rest kept. */
export function inpaintProjectRef(x: ArrayLike<number>, y: ArrayLike<number>, mask: ArrayLike<number>, z: ArrayLike<number>, l: { mean: number; std: number }): Float64Array {
  return Float64Array.from(x, (xi, i) => (mask[i] >= 0.5 ? l.mean * y[i] + l.std * z[i] : xi));
}
