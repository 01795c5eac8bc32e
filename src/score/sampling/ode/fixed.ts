// Fixed-step solvers for dy/dt = f(t, y) on the uniform grid t_k = t0 + k·h, h = (t1 − t0)/S:
//   Euler:  y_{k+1} = y_k + h·f(t_k, y_k)                                  (1 evaluation a step)
//   Heun:   ỹ = y_k + h·f(t_k, y_k),  y_{k+1} = y_k + ½h·(f(t_k, y_k) + f(t_{k+1}, ỹ))   (2 a step)
// (Heun's is the explicit trapezoidal rule, the second-order method of Karras et al.'s Alg. 1.)
// Nothing is read back: each step is a few dispatches after the network's.
import type { Device } from '../../../gpu/device.js';
import { combine, disposeState, keepState, type Field, type State } from './state.js';
import type { OdeSolution } from './dopri5.js';

export interface FixedStepOptions {
  steps: number;
  onStep?: (t: number, nfe: number) => void;
}

function check(name: string, steps: number): void {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`${name}: steps must be a positive integer, got ${steps}`);
}

async function fixedSteps(device: Device, name: string, f: Field, y0: State, t0: number, t1: number, o: FixedStepOptions,
  step: (fun: Field, t: number, h: number, y: State) => State): Promise<OdeSolution> {
  check(name, o.steps);
  const h = (t1 - t0) / o.steps;
  let nfe = 0;
  const fun: Field = (t, y) => {
    nfe++;
    return device.scope(() => f(t, y));
  };
  let y: State = keepState(device.scope(() => combine(y0, [])));
  try {
    for (let k = 0; k < o.steps; k++) {
      const t = t0 + k * h;
      const next = keepState(device.scope(() => step(fun, t, h, y)));
      disposeState(y);
      y = next;
      await device.sync(); // bounds the queue and keeps progress honest; nothing is read
      o.onStep?.(k + 1 === o.steps ? t1 : t0 + (k + 1) * h, nfe);
    }
    const out = y;
    y = [];
    return { y: out, nfe, accepted: o.steps, rejected: 0 };
  } finally {
    disposeState(y);
  }
}

/** Forward Euler with S steps (S evaluations). */
export function euler(device: Device, f: Field, y0: State, t0: number, t1: number, o: FixedStepOptions): Promise<OdeSolution> {
  return fixedSteps(device, 'euler', f, y0, t0, t1, o, (fun, t, h, y) => combine(y, [[h, fun(t, y)]]));
}

/** Heun's method (explicit trapezoid) with S steps (2S evaluations). */
export function heun(device: Device, f: Field, y0: State, t0: number, t1: number, o: FixedStepOptions): Promise<OdeSolution> {
  return fixedSteps(device, 'heun', f, y0, t0, t1, o, (fun, t, h, y) => {
    const k1 = fun(t, y);
    const k2 = fun(t + h, combine(y, [[h, k1]]));
    return combine(y, [[h / 2, k1], [h / 2, k2]]);
  });
}
