// Reverse-mode autograd in the style of micrograd's engine: every differentiable op records its
// inputs and a backward closure on its output tensor (Tensor.gradFn); backward walks the graph in
// reverse topological order. Backward closures are written with the same differentiable ops, so
// with createGraph the gradients themselves are recorded and can be differentiated again
// (sliced score matching, energy models, exact-trace score matching need that).
import { Tensor, type GradNode } from '../tensor/tensor.js';
import { fmtShape, ShapeError } from '../gpu/errors.js';
import { binary, unary } from '../tensor/ops/elementwise.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording a graph (inference, optimizer updates, samplers). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run fn with graph recording on (e.g. −∇ₓE inside a sampler that otherwise runs without grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attach a backward rule to `out` when grad mode is on and some input requires a gradient.
 * The rule returns one gradient per input (null where none is needed).
 */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward };
  }
  return out;
}

/** Mark a leaf tensor as one whose gradient we want. */
export function requireGrad(t: Tensor, on = true): Tensor {
  t.requiresGrad = on;
  return t;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // iterative DFS: graphs of deep nets overflow recursion
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const ins = t.gradFn?.inputs ?? [];
    if (i < ins.length) {
      top[1]++;
      const c = ins[i];
      if (c.requiresGrad && !seen.has(c)) stack.push([c, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * a + b for two gradients of one tensor (same shape), recorded as ops.add records it while grad is
 * on (so gradients summed here differentiate again); engine.ts keeps off the op table (ops.ts imports it).
 */
function accumulate(a: Tensor | undefined, b: Tensor): Tensor {
  if (!a) return b;
  return record(binary('add', a, b), 'add', [a, b], (g) => [g, g]);
}

export interface GradOptions {
  /** ∂L/∂output; defaults to ones (output must then be a single element). */
  gradOutput?: Tensor;
  /** Record the backward pass itself so the returned gradients can be differentiated again. */
  createGraph?: boolean;
  /** Return null instead of throwing for inputs the output does not depend on. */
  allowUnused?: boolean;
}

/**
 * Gradients of `output` with respect to `inputs` (vector-Jacobian product with gradOutput).
 * With createGraph the results carry their own graph.
 */
export function grad(output: Tensor, inputs: Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const createGraph = opts.createGraph ?? false;
  let seed = opts.gradOutput;
  if (!seed) {
    if (output.size !== 1) throw new ShapeError(`grad: output has shape ${fmtShape(output.shape)}; pass gradOutput for non-scalar outputs`);
    seed = unary('fill', Tensor.empty(output.device, output.shape), 1);
  } else if (seed.size !== output.size) {
    throw new ShapeError(`grad: gradOutput ${fmtShape(seed.shape)} does not match output ${fmtShape(output.shape)}`);
  }
  if (!output.requiresGrad) {
    if (opts.allowUnused) return inputs.map(() => null);
    throw new Error('grad: output does not depend on any tensor that requires grad');
  }
  const wanted = new Set(inputs);
  const grads = new Map<Tensor, Tensor>();
  grads.set(output, seed);
  withGrad(createGraph, () => {
    for (const t of topoOrder(output)) {
      const g = grads.get(t);
      if (!g || !t.gradFn) continue;
      const gin = t.gradFn.backward(g);
      const ins = t.gradFn.inputs;
      for (let i = 0; i < ins.length; i++) {
        const gi = gin[i];
        if (!gi || !ins[i].requiresGrad) continue;
        if (gi.size !== ins[i].size) {
          throw new ShapeError(`backward of ${t.gradFn.name}: gradient ${fmtShape(gi.shape)} for input ${fmtShape(ins[i].shape)}`);
        }
        grads.set(ins[i], accumulate(grads.get(ins[i]), gi.shape.length === ins[i].shape.length ? gi : gi.reshape(ins[i].shape)));
      }
      if (!wanted.has(t)) grads.delete(t);
    }
  });
  return inputs.map((x) => {
    const g = grads.get(x);
    if (!g && !opts.allowUnused) throw new Error(`grad: output does not depend on input ${x}`);
    return g ?? null;
  });
}

/** Accumulate d(output)/d(leaf) into leaf.grad for every leaf that requires grad. */
export function backward(output: Tensor, opts: GradOptions = {}): void {
  const leaves = topoOrder(output).filter((t) => t.requiresGrad && !t.gradFn);
  const gs = grad(output, leaves, { ...opts, allowUnused: true });
  leaves.forEach((l, i) => {
    const g = gs[i];
    if (!g) return;
    l.grad = l.grad ? binary('add', l.grad, g) : g;
  });
}
