// Classifier guidance (Song et al. 2021, §5 and App. I; Dhariwal & Nichol 2021, Alg. 1 and 2):
// sample from p(x | y) ∝ p(x)·p(y | x)^s by following the score
//   ∇ₓ log p_t(x | y) = ∇ₓ log p_t(x) + s·∇ₓ log p_φ(y | x_t, t),
// with p_φ a classifier trained on noised data at the process's noise levels (the same noise-level
// input as the score network). For an ε-network this is D&N's ε̂' = ε̂ − s·√(1 − ᾱ)·∇ₓ log p_φ.
//
// The guided model is itself a NoiseConditionalNet, so every sampler that takes a score (annealed
// Langevin, ancestral, DDIM through the ε adapter, Euler–Maruyama, PC, DPM-Solver++, Heun) samples
// it unchanged: by the adapter (../adapter.ts) score = cx·x + co·out at the step's marginal, so
// adding g to the score is adding g/co to the output,
//   out' = out + s·∇ₓ log p_φ(y | x, cond) / co(m(cond), s(cond)),
// with (m, s) computed on the device from cond (./noise_level.ts). The gradient is one forward and
// one backward of the classifier by our autograd, with gradients switched on inside the sampler's
// step (samplers run under noGrad) — those dispatches are recorded with the rest of the step and
// replayed at every step like them.
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as T } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import { enableGrad, grad } from '../../autograd/engine.js';
import type { NoiseConditionalNet } from '../losses.js';
import type { DiscreteProcess } from '../processes/process.js';
import { marginalAtCond, inverseScoreCoefficient } from './noise_level.js';

/** A noise-conditional classifier as guidance sees it (src/nn/noise_classifier.ts is one). */
export interface NoiseConditionalClassifier {
  logits(x: Tensor, cond: Tensor): Tensor;
  /** Its parameters: their gradients are not wanted here (switched off for the call). */
  namedParameters?(): [string, { value: Tensor }][];
  readonly cfg: { classes: number };
}

export interface ClassifierGuidanceOptions {
  /** The class y to guide towards (0 … classes − 1). */
  label: number;
  /** The guidance scale s (0: unguided; 1: the true conditional score for a perfect classifier). */
  scale: number;
}

/**
 * ∇ₓ log p_φ(y | x, cond) per sample, [B, ...x]: log softmax of the logits at y, summed over the
 * batch (samples are independent), differentiated with respect to x. Runs with gradients on
 * whatever the caller's mode; the classifier's own parameters get no gradient.
 */
export function classifierLogProbGrad(classifier: NoiseConditionalClassifier, x: Tensor, cond: Tensor, label: number): Tensor {
  const K = classifier.cfg.classes;
  checkLabel(label, K);
  const params = classifier.namedParameters?.().map(([, p]) => p.value) ?? [];
  const saved = params.map((p) => p.requiresGrad);
  try {
    params.forEach((p) => (p.requiresGrad = false));
    return enableGrad(() => {
      const xg = x.detach();
      xg.requiresGrad = true;
      const onehot = T.constant(x.device, `guidance.onehot.${K}.${label}`, Array.from({ length: K }, (_, k) => (k === label ? 1 : 0)), [1, K]);
      const logp = op.sum(op.mul(op.logSoftmax(classifier.logits(xg, cond.detach()), 1), onehot));
      return grad(logp, [xg])[0]!.detach();
    });
  } finally {
    params.forEach((p, i) => (p.requiresGrad = saved[i]));
  }
}

function checkLabel(label: number, K: number): void {
  if (!(Number.isInteger(label) && label >= 0 && label < K)) throw new RangeError(`classifier guidance: class ${label} is not an integer in 0..${K - 1}`);
}

/** The network guided towards class `label` with scale `scale`: out' = out + s·∇ₓ log p_φ(y | x)/co. */
export function classifierGuided(net: NoiseConditionalNet, classifier: NoiseConditionalClassifier, proc: DiscreteProcess, o: ClassifierGuidanceOptions): NoiseConditionalNet {
  checkLabel(o.label, classifier.cfg.classes);
  if (!Number.isFinite(o.scale)) throw new RangeError(`classifier guidance: the scale must be a finite number, got ${o.scale}`);
  return {
    forward(x: Tensor, cond: Tensor): Tensor {
      const out = net.forward(x, cond);
      if (o.scale === 0) return out;
      const g = classifierLogProbGrad(classifier, x, cond, o.label);
      const { mean, std } = marginalAtCond(proc, cond);
      const k = op.scale(inverseScoreCoefficient(proc.prediction, mean, std), o.scale); // [B, 1]
      return op.add(out, op.mul(g, op.reshape(k, [x.shape[0], ...x.shape.slice(1).map(() => 1)])));
    },
  };
}
