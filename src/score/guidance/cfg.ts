// Classifier-free guidance (Ho & Salimans 2022). One class-conditional network ε(x, c, y) learns
// both the conditional and the unconditional model: in training each label is replaced by the null
// class ∅ with probability p (`dropLabels`); at sampling the two are combined,
//   ε̃(x, c, y) = (1 + w)·ε(x, c, y) − w·ε(x, c, ∅),
// w = 0 the conditional model, w > 0 pushing samples toward what distinguishes class y.
//
// The combination is written on the network's output, whatever it predicts: every parametrisation
// (ε, σ-scaled score, x₀, v) maps to ε̂ (and to the score) by an affine map out ↦ cx·x + co·out with
// the same (cx, co) for both halves (same x, same noise level), and (1 + w) − w = 1, so
//   cx·x + co·((1 + w)·out_y − w·out_∅) = (1 + w)·(cx·x + co·out_y) − w·(cx·x + co·out_∅).
// So `ClassifierFreeGuidance` is itself a NoiseConditionalNet and every sampler runs it unchanged.
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as T } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import { unary } from '../../tensor/ops/elementwise.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import type { NoiseConditionalNet, Noise } from '../losses.js';

/** A class-conditional network: labels y [B, 1] (integers as f32), `nullLabel` the unconditional ∅. */
export interface LabelledNet {
  forward(x: Tensor, cond: Tensor, labels?: Tensor): Tensor;
  readonly nullLabel: number;
}

/** u ~ U{0 … 2^24 − 1} per row; u < p·2^24 has probability p exactly up to 2^−24 (the device's uniform draw). */
const U24 = 2 ** 24;

/**
 * Training's label dropout: each label y [B, 1] replaced by ∅ with probability p, drawn on the device
 * from the step's noise source (reproducible from the seed, and a resumed run draws the same):
 *   d = 1[u < p·2^24],  y' = y + d·(∅ − y).
 */
export function dropLabels(labels: Tensor, noise: Noise, p: number, nullLabel: number): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`label drop probability must be in [0, 1], got ${p}`);
  if (p === 0) return labels;
  const B = labels.shape[0];
  const u = noise.randint([B, 1], U24);
  const d = unary('stepGt', op.neg(u), -p * U24); // −u > −p·2^24  ⇔  u < p·2^24
  return op.add(op.reshape(labels, [B, 1]), op.mul(d, op.affine(op.reshape(labels, [B, 1]), -1, nullLabel)));
}

/** A LabelledNet with its labels bound: a NoiseConditionalNet (the loss, progress grids). */
export function withLabels(net: LabelledNet, labels: Tensor | undefined): NoiseConditionalNet {
  return { forward: (x, cond) => net.forward(x, cond, labels) };
}

/**
 * ε̃ = (1 + w)·out(x, c, y) − w·out(x, c, ∅) from one forward of the network on the batch doubled:
 * inputs [x; x], noise levels [c; c], labels [y; ∅] (2B rows), the halves combined on the device.
 * `labels`: one class for every row, or one per row (then the batch must have that many rows).
 * w = 0 is the conditional model alone (one forward on B rows).
 */
export class ClassifierFreeGuidance implements NoiseConditionalNet {
  /** The label columns per batch size: [y; ∅] (2B rows) and y (B rows). */
  private columns = new Map<number, { both: Tensor; cond: Tensor }>();

  constructor(readonly net: LabelledNet, readonly labels: number | ArrayLike<number>, readonly w: number) {
    if (!Number.isFinite(w)) throw new Error(`classifier-free guidance: the scale w must be a finite number, got ${w}`);
    const ls = typeof labels === 'number' ? [labels] : Array.from(labels);
    for (const y of ls) {
      if (!(Number.isInteger(y) && y >= 0 && y < net.nullLabel)) throw new Error(`classifier-free guidance: label ${y} is not a class of the network (0 … ${net.nullLabel - 1})`);
    }
  }

  forward(x: Tensor, cond: Tensor): Tensor {
    const B = x.shape[0];
    if (cond.shape[0] !== B) throw new ShapeError(`classifier-free guidance: noise level ${fmtShape(cond.shape)} does not match batch ${fmtShape(x.shape)}`);
    const cols = this.columnsFor(x.device, B);
    if (this.w === 0) return this.net.forward(x, cond, cols.cond);
    const out = this.net.forward(op.concat([x, x], 0), op.concat([cond, cond], 0), cols.both);
    const rest = out.shape.slice(1);
    const zeros = rest.map(() => 0);
    const withY = op.slice(out, [0, ...zeros], [B, ...rest]);
    const withNull = op.slice(out, [B, ...zeros], [B, ...rest]);
    return op.axpby(1 + this.w, withY, -this.w, withNull);
  }

  private columnsFor(device: Tensor['device'], B: number): { both: Tensor; cond: Tensor } {
    let c = this.columns.get(B);
    if (c) return c;
    const y = new Float32Array(B);
    if (typeof this.labels === 'number') y.fill(this.labels);
    else {
      if (this.labels.length !== B) throw new ShapeError(`classifier-free guidance: ${this.labels.length} labels for a batch of ${B}`);
      y.set(Array.from(this.labels));
    }
    const both = new Float32Array(2 * B).fill(this.net.nullLabel);
    both.set(y);
    c = { both: T.fromArray(device, both, [2 * B, 1], 'cfg labels [y; ∅]').keep(), cond: T.fromArray(device, y, [B, 1], 'cfg labels').keep() };
    this.columns.set(B, c);
    return c;
  }

  /** Free the label columns. */
  dispose(): void {
    for (const c of this.columns.values()) {
      c.both.dispose();
      c.cond.dispose();
    }
    this.columns.clear();
  }
}
