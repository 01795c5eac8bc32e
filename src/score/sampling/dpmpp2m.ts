// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Alg. 2), the data-prediction multistep solver of
// the probability-flow ODE, as diffusers' DPMSolverMultistepScheduler (algorithm_type "dpmsolver++",
// solver_order 2, solver_type "midpoint", lower_order_final, final_sigmas_type "zero",
// timestep_spacing "linspace"). For any process with x_t = m_t·x₀ + s_t·ε, with λ_t = log(m_t/s_t),
// h = λ_t − λ_s and D = the model's x̂₀ at s (the adapter's, whatever the network predicts):
//   first order (DDIM):   x_t = (s_t/s_s)·x_s − m_t·(e^{−h} − 1)·D₀
//   second order:         x_t = (s_t/s_s)·x_s − m_t·(e^{−h} − 1)·[(1 + 1/(2r))·D₀ − (1/(2r))·D₋₁],
//                         r = h₋₁/h,  h₋₁ = λ_s − λ_{s₋₁}  (D₋₁ the previous step's x̂₀)
// on the S indices linspace(0, N − 1, S + 1).round() from the top, the first step first order and
// the last (to s = 0, m = 1) x_t = D₀. One evaluation per step.
// On the device the previous x̂₀ is kept in register r (plan.ts's programs):
//   h ← x;  h ← clip?(p·h + q·out) = D₀;  x ← a·x + b₀·h;  x ← x + b₁·r;  r ← h.
import type { DiscreteProcess } from '../processes/process.js';
import type { UpdateCoef } from '../../tensor/ops/affine_update.js';
import { adapt } from '../adapter.js';
import { roundHalfEven } from './ddim.js';
import { dataBounds, IDENTITY, type ProgramOp, type SamplerPlan, type PlanStep } from './plan.js';

export interface DpmOptions {
  steps?: number;
  clip?: boolean;
}

export const DPM_OPS: ProgramOp[] = [
  { target: 'h', source: 'x' }, // h ← x
  { target: 'h', source: 'out' }, // h ← clip?(p·h + q·out) = D₀ (clip set per plan)
  { target: 'x', source: 'h' }, // x ← (s_t/s_s)·x + b₀·D₀
  { target: 'x', source: 'r' }, // x ← x + b₁·D₋₁
  { target: 'r', source: 'h' }, // r ← D₀
];

/**
 * diffusers' "linspace" spacing: np.linspace(0, N − 1, S + 1).round()[::-1][:-1], without repeats
 * (as its set_timesteps: np.unique, first occurrence kept). Near S = N the rounding repeats an index
 * (S = N = 1000 repeats 500), and a step of zero length has h = 0: r = h₋₁/h is infinite. So S
 * steps asked for may be fewer taken (999 at S = N = 1000); the plan's length is the count.
 */
export function dpmTimesteps(N: number, S: number): number[] {
  if (!(Number.isInteger(S) && S >= 1 && S <= N)) throw new Error(`dpmpp2m: steps must be an integer in 1..${N}, got ${S}`);
  const step = (N - 1) / S;
  const ts = Array.from({ length: S }, (_, k) => (k === 0 ? N - 1 : roundHalfEven((S - k) * step)));
  return ts.filter((t, k) => k === 0 || t !== ts[k - 1]);
}

export function dpmpp2mPlan(proc: DiscreteProcess, o: DpmOptions = {}): SamplerPlan {
  const ts = dpmTimesteps(proc.N, o.steps ?? Math.min(20, proc.N));
  const [lo, hi] = dataBounds(proc);
  const copy: UpdateCoef = { p: 0, q: 1, a: 0, b: 1, c: 0 };
  const lambda = (m: { mean: number; std: number }) => Math.log(m.mean) - Math.log(m.std);
  const steps: PlanStep[] = ts.map((t, k) => {
    const ms = proc.marginal(t), x0 = adapt(proc.prediction, ms).x0;
    const coefs: UpdateCoef[] = [copy, { p: x0.cx, q: x0.co, a: 0, b: 1, c: 0, lo, hi }];
    if (k === ts.length - 1) {
      coefs.push({ p: 0, q: 1, a: 0, b: 1, c: 0 }, IDENTITY); // x ← D₀
    } else {
      const mt = proc.marginal(ts[k + 1]);
      const h = lambda(mt) - lambda(ms), em1 = Math.expm1(-h); // e^{−h} − 1
      if (k === 0) {
        coefs.push({ p: 0, q: 1, a: mt.std / ms.std, b: -mt.mean * em1, c: 0 }, IDENTITY);
      } else {
        const r = (lambda(ms) - lambda(proc.marginal(ts[k - 1]))) / h;
        coefs.push(
          { p: 0, q: 1, a: mt.std / ms.std, b: -mt.mean * em1 * (1 + 1 / (2 * r)), c: 0 },
          { p: 0, q: 1, a: 1, b: (mt.mean * em1) / (2 * r), c: 0 },
        );
      }
    }
    coefs.push(copy); // r ← D₀
    const level = k === ts.length - 1 ? { mean: 1, std: 0 } : proc.marginal(ts[k + 1]);
    return { index: t, cond: proc.conditioning(t), coef: IDENTITY, coefs, level };
  });
  const ops = DPM_OPS.map((p, j) => (j === 1 ? { ...p, clip: !!o.clip } : p));
  return { name: `dpmpp2m(${ts.length})`, init: { kind: 'normal', std: proc.priorStd }, steps, clip: !!o.clip, ops };
}
