// The state of an ODE on the device, seen as one vector y = (y₁, …, y_k) made of a few tensors (the
// image batch x for sampling; [x, Δlog p] for the likelihood's augmented ODE), and the vector-space
// operations the Runge–Kutta solvers need on it, all GPU kernels:
//   combine:   y + Σ_j c_j·v_j     (axpby, then in-place accumulate: one dispatch per term)
//   sqNorm:    Σ_i (e_i / (atol + rtol·max(|a_i|, |b_i|)))²     (scipy's weighted error norm, squared;
//              a [1] tensor on the device — the adaptive solver reads back exactly this one number)
// The host only ever holds the scalar coefficients (h, the tableau's a_ij, b_j, e_j).
import type { Tensor } from '../../../tensor/tensor.js';
import * as op from '../../../autograd/ops.js';
import { accumulate, unary, binary } from '../../../tensor/ops/elementwise.js';
import { sumSquares } from '../../../tensor/ops/reduce.js';
import { ShapeError, fmtShape } from '../../../gpu/errors.js';

/** y = (y₁, …, y_k): the components of one ODE state. */
export type State = readonly Tensor[];

/** dy/dt = f(t, y): returns fresh tensors shaped like y's components. */
export type Field = (t: number, y: State) => State;

/** Σ_j c_j·v_j (+ base), componentwise; terms with c = 0 are skipped. Returns fresh tensors. */
export function combine(base: State | null, terms: readonly (readonly [number, State])[]): State {
  const live = terms.filter(([c]) => c !== 0);
  const ref = base ?? live[0]?.[1];
  if (!ref) throw new Error('ode: an empty linear combination');
  return ref.map((_, i) => {
    for (const [, v] of live) {
      if (v.length !== ref.length || v[i].size !== ref[i].size) throw new ShapeError(`ode: state component ${i} ${fmtShape(v[i]?.shape ?? [])} does not match ${fmtShape(ref[i].shape)}`);
    }
    let acc: Tensor;
    let k = 0;
    if (base) {
      acc = live.length ? binary('axpby', base[i], live[0][1][i], 1, live[0][0]) : op.scale(base[i], 1);
      k = live.length ? 1 : 0;
    } else {
      acc = op.scale(live[0][1][i], live[0][0]);
      k = 1;
    }
    for (; k < live.length; k++) accumulate(acc, live[k][1][i], live[k][0], 1); // acc ← acc + c·v
    return acc;
  });
}

/** y·c, componentwise (fresh tensors). */
export function scaleState(y: State, c: number): State {
  return y.map((t) => op.scale(t, c));
}

/** Σ over every element of every component of (e / (atol + rtol·max(|a|, |b|)))², a [1] device tensor. */
export function sqNorm(e: State, a: State, b: State, rtol: number, atol: number): Tensor {
  let total: Tensor | null = null;
  for (let i = 0; i < e.length; i++) {
    const scale = unary('affine', binary('maximum', unary('abs', a[i]), unary('abs', b[i])), rtol, atol);
    const s = sumSquares(binary('div', e[i], scale));
    total = total ? binary('add', total, s) : s;
  }
  return total!;
}

/** The number of scalars in a state (the n of scipy's RMS norm ‖x‖/√n). */
export function stateSize(y: State): number {
  return y.reduce((s, t) => s + t.size, 0);
}

export function disposeState(y: State | null | undefined): void {
  if (y) for (const t of y) t.dispose();
}

/** Keep every component past the enclosing scope. */
export function keepState(y: State): State {
  for (const t of y) t.keep();
  return y;
}
