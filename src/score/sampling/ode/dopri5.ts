// Dormand–Prince 5(4) (Dormand & Prince 1980), the explicit Runge–Kutta pair of scipy's
// solve_ivp(method='RK45') that score_sde samples and evaluates likelihoods with — here with the
// same tableau, error norm, step-size controller and first-step rule, and the stages on the device.
//
// One step of size h from (t, y) with k₁ = f(t, y) carried over from the last step (FSAL):
//   k_s = f(t + c_s·h, y + h·Σ_{j<s} a_sj·k_j),  s = 2 … 6
//   y_new = y + h·Σ_j b_j·k_j                     (5th order; b₇ = 0)
//   k₇ = f(t + h, y_new)                          (next step's k₁)
//   err = h·Σ_j e_j·k_j                           (5th − 4th order solution)
// accepted when ‖err / (atol + rtol·max(|y|, |y_new|))‖_rms < 1; then h ← h·min(10, 0.9·‖·‖^{−1/5})
// (at most ×1 right after a rejection); a rejected step retries with h·max(0.2, 0.9·‖·‖^{−1/5}).
// Each attempt costs 6 evaluations and one read-back of the squared norm (one float).
import type { Device } from '../../../gpu/device.js';
import { combine, sqNorm, stateSize, disposeState, keepState, type Field, type State } from './state.js';

// Butcher tableau (scipy.integrate._ivp.rk.RK45)
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
const E = [-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40];
const SAFETY = 0.9, MIN_FACTOR = 0.2, MAX_FACTOR = 10;
const ERROR_EXPONENT = -1 / 5; // −1/(error estimator order + 1)
const ORDER = 5;

export interface AdaptiveOptions {
  rtol?: number;
  atol?: number;
  /** Give up after this many attempted steps (a stiff or diverging field). Default 10 000. */
  maxSteps?: number;
  /** After each accepted step: the time reached and the evaluations so far. */
  onStep?: (t: number, nfe: number) => void;
}

export interface OdeSolution {
  /** y(t1) (fresh tensors; the caller disposes them). */
  y: State;
  /** Function evaluations (scipy's nfev). */
  nfe: number;
  accepted: number;
  rejected: number;
}

/** 10 × the gap from t to its float64 neighbour towards the end (scipy's min_step). */
function minStep(t: number): number {
  return 10 * Math.max(Math.abs(t) * Number.EPSILON, Number.MIN_VALUE);
}

/**
 * Integrate dy/dt = f(t, y) from t0 to t1 (either direction) on the device. y0 stays the caller's.
 * `f` runs inside a device scope per evaluation: whatever it allocates besides its result is freed.
 */
export async function dopri5(device: Device, f: Field, y0: State, t0: number, t1: number, o: AdaptiveOptions = {}): Promise<OdeSolution> {
  const rtol = o.rtol ?? 1e-5, atol = o.atol ?? 1e-5;
  if (!(rtol > 0 && atol > 0)) throw new RangeError(`rk45: rtol and atol must be > 0, got rtol = ${rtol}, atol = ${atol}`);
  const maxSteps = o.maxSteps ?? 10000;
  const n = stateSize(y0);
  let nfe = 0;
  const fun: Field = (t, y) => {
    nfe++;
    return device.scope(() => f(t, y));
  };
  /** ‖e/scale‖_rms read back: the one round trip per step. */
  const rms = async (sq: ReturnType<typeof sqNorm>) => {
    const v = (await sq.toArray())[0];
    sq.dispose();
    return Math.sqrt(v / n);
  };
  const dir = Math.sign(t1 - t0);
  if (dir === 0) return { y: keepState(combine(y0, [])), nfe: 0, accepted: 0, rejected: 0 };
  const span = Math.abs(t1 - t0);

  let y: State = keepState(device.scope(() => combine(y0, []))); // our own copy
  let fy: State = keepState(fun(t0, y));
  try {
    // first step (scipy's select_initial_step): h0 from ‖y0‖ and ‖f0‖, refined by one Euler probe
    const d0 = await rms(device.scope(() => sqNorm(y, y, y, rtol, atol).keep()));
    const d1 = await rms(device.scope(() => sqNorm(fy, y, y, rtol, atol).keep()));
    let h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    h0 = Math.min(h0, span);
    const d2 = (await rms(device.scope(() => {
      const f1 = fun(t0 + h0 * dir, combine(y, [[h0 * dir, fy]])); // f at one Euler step
      return sqNorm(combine(f1, [[-1, fy]]), y, y, rtol, atol).keep();
    }))) / h0;
    const h1 = d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / (ORDER + 1));
    let hAbs = Math.min(100 * h0, h1, span);

    let t = t0, accepted = 0, rejected = 0;
    while (dir * (t1 - t) > 0) {
      let rejectedNow = false;
      for (;;) {
        if (accepted + rejected >= maxSteps) throw new Error(`rk45: no solution within ${maxSteps} steps (t = ${t}, h = ${hAbs.toExponential(2)}); the field may be stiff or not finite`);
        if (hAbs < minStep(t)) throw new Error(`rk45: the step size fell below ${minStep(t).toExponential(2)} at t = ${t} (required accuracy not reachable)`);
        let tNew = t + hAbs * dir;
        if (dir * (tNew - t1) > 0) tNew = t1;
        const h = tNew - t;
        hAbs = Math.abs(h);
        const step = device.scope(() => {
          const K: State[] = [fy];
          for (let s = 1; s < 6; s++) K.push(fun(t + C[s] * h, combine(y, A[s].map((a, j) => [h * a, K[j]] as const))));
          const yNew = combine(y, B.map((b, j) => [h * b, K[j]] as const));
          const fNew = fun(tNew, yNew);
          K.push(fNew);
          const err = combine(null, E.map((e, j) => [h * e, K[j]] as const));
          return { yNew: keepState(yNew), fNew: keepState(fNew), sq: sqNorm(err, y, yNew, rtol, atol).keep() };
        });
        const errNorm = await rms(step.sq);
        if (!Number.isFinite(errNorm)) {
          disposeState(step.yNew);
          disposeState(step.fNew);
          throw new Error(`rk45: the field is not finite at t ≈ ${t} (NaN or Inf in a stage)`);
        }
        if (errNorm < 1) {
          let factor = errNorm === 0 ? MAX_FACTOR : Math.min(MAX_FACTOR, SAFETY * errNorm ** ERROR_EXPONENT);
          if (rejectedNow) factor = Math.min(1, factor);
          hAbs *= factor;
          disposeState(y);
          disposeState(fy);
          y = step.yNew;
          fy = step.fNew;
          t = tNew;
          accepted++;
          break;
        }
        disposeState(step.yNew);
        disposeState(step.fNew);
        hAbs *= Math.max(MIN_FACTOR, SAFETY * errNorm ** ERROR_EXPONENT);
        rejectedNow = true;
        rejected++;
      }
      o.onStep?.(t, nfe);
    }
    disposeState(fy);
    fy = [];
    const out = y;
    y = [];
    return { y: out, nfe, accepted, rejected };
  } finally {
    disposeState(y);
    disposeState(fy);
  }
}
