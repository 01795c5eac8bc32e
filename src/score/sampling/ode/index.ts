// ODE solvers on the device, by name: the adaptive Dormand–Prince 5(4) pair (scipy's RK45, score_sde's
// default) and fixed-step Euler and Heun; and the probability-flow ODE sampler built on them.
import type { Device } from '../../../gpu/device.js';
import { dopri5, type AdaptiveOptions, type OdeSolution } from './dopri5.js';
import { euler, heun } from './fixed.js';
import type { Field, State } from './state.js';

export * from './state.js';
export { dopri5, type AdaptiveOptions, type OdeSolution } from './dopri5.js';
export { euler, heun, type FixedStepOptions } from './fixed.js';

export const ODE_METHODS = {
  rk45: 'adaptive Dormand–Prince 5(4) (scipy RK45, score_sde\'s default), --rtol/--atol (1e-5)',
  euler: 'forward Euler, --steps S (S evaluations)',
  heun: 'Heun\'s second-order method, --steps S (2S evaluations)',
} as const;
export type OdeMethod = keyof typeof ODE_METHODS;

export interface OdeSolveOptions extends AdaptiveOptions {
  method?: OdeMethod;
  /** Fixed-step methods: the number of steps. */
  steps?: number;
}

/** The default step count of the fixed-step methods. */
export const DEFAULT_ODE_STEPS = 100;

export function isOdeMethod(m: string): m is OdeMethod {
  return Object.prototype.hasOwnProperty.call(ODE_METHODS, m);
}

/** Integrate dy/dt = f(t, y) from t0 to t1 with the named method. */
export function solveOde(device: Device, f: Field, y0: State, t0: number, t1: number, o: OdeSolveOptions = {}): Promise<OdeSolution> {
  const method = o.method ?? 'rk45';
  switch (method) {
    case 'rk45':
      return dopri5(device, f, y0, t0, t1, o);
    case 'euler':
      return euler(device, f, y0, t0, t1, { steps: o.steps ?? DEFAULT_ODE_STEPS, onStep: o.onStep });
    case 'heun':
      return heun(device, f, y0, t0, t1, { steps: o.steps ?? DEFAULT_ODE_STEPS, onStep: o.onStep });
    default:
      throw new Error(`unknown ODE method '${method}'; valid: ${Object.keys(ODE_METHODS).join(', ')}`);
  }
}
