// The model-output adapter: whatever the network predicts — the score itself (NCSN's σ-scaled
// output), the noise ε (DDPM), the clean image x₀, or v = m·ε − s·x₀ (Salimans & Ho 2022) — is an
// affine function of (x, out) once the marginal x = m·x₀ + s·ε at the current noise index is fixed.
// So every quantity a sampler or a loss wants is   q = cx·x + co·out   with two scalars, and the
// samplers fold those scalars into their own update coefficients: no sampler and no loss branches on
// the parametrisation.
//
//   score ∇ log p(x) = −ε/s = (m·x₀ − x)/s²
//   from 'score': score = out          ε = −s·out            x₀ = (x + s²·out)/m
//   from 'eps':   score = −out/s       ε = out               x₀ = (x − s·out)/m
//   from 'x0':    score = (m·out − x)/s²   ε = (x − m·out)/s   x₀ = out
//   from 'v':     x₀ = (m·x − s·v)/(m² + s²)   ε = (s·x + m·v)/(m² + s²)   score = −ε/s
import type { Marginal, Prediction } from './processes/process.js';

/** q = cx·x + co·out. */
export interface Affine {
  cx: number;
  co: number;
}

export interface Adapted {
  score: Affine;
  eps: Affine;
  x0: Affine;
}

export const PREDICTIONS: readonly Prediction[] = ['score', 'eps', 'x0', 'v'];

export function adapt(prediction: Prediction, { mean: m, std: s }: Marginal): Adapted {
  if (!(s > 0)) throw new Error(`model-output adapter: the noise std must be > 0, got ${s}`);
  let eps: Affine, x0: Affine;
  switch (prediction) {
    case 'score':
      eps = { cx: 0, co: -s };
      x0 = { cx: 1 / m, co: (s * s) / m };
      break;
    case 'eps':
      eps = { cx: 0, co: 1 };
      x0 = { cx: 1 / m, co: -s / m };
      break;
    case 'x0':
      eps = { cx: 1 / s, co: -m / s };
      x0 = { cx: 0, co: 1 };
      break;
    case 'v': {
      const n = m * m + s * s;
      eps = { cx: s / n, co: m / n };
      x0 = { cx: m / n, co: -s / n };
      break;
    }
    default:
      throw new Error(`unknown model prediction '${prediction}'; valid: ${PREDICTIONS.join(', ')}`);
  }
  return { eps, x0, score: { cx: -eps.cx / s, co: -eps.co / s } };
}
