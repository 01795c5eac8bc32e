// RePaint's resampling (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion
// Probabilistic Models", Alg. 1 and §4.2): the known pixels are imposed after every step, but the
// unknown ones only see them through the network, so the two halves drift apart. RePaint harmonises
// them by going back: after reaching certain levels the chain is re-noised with the forward process,
//   x_{t+j} ~ q(x_{t+j} | x_t) = N((m_{t+j}/m_t)·x_t, (s_{t+j}² − (m_{t+j}/m_t)²·s_t²)·I),
// and denoised again over the same j steps. With jump length j and r resamples (the authors' code:
// jump_length, jump_n_sample), counting the chain's positions in their time t = S − 1 … 0, −1 (t = S − 1
// the start, −1 the clean end of S steps), every t ∈ {0, j, 2j, …} with t < S − j is a jump point:
// the first r − 1 times the chain arrives there it jumps back to t + j. Each jump point's segment is
// thus denoised r times; the chain costs S + (r − 1)·j·⌈(S − j)/j⌉ network evaluations.
// The authors re-noise one step at a time (q(x_{t+1} | x_t), j times); one jump of j steps has the
// same distribution (the forward chain is Markov) and costs one dispatch.
//
// A step of the sampler must move x from one level to the next and carry nothing else between steps
// (ancestral sampling, DDIM): a jump then re-enters the chain at an earlier step with x alone.
import type { DiscreteProcess, Marginal } from '../processes/process.js';
import type { SamplerPlan, PlanStep } from '../sampling/plan.js';

export interface RepaintOptions {
  /** Jump length j (steps of the sampler's chain). */
  jump: number;
  /** Resamples r: how many times each jump point's segment is denoised (1: no resampling). */
  resample: number;
}

/** The samplers whose steps carry only x from level to level. */
export const REPAINT_SAMPLERS = ['ancestral', 'ddim'] as const;

/**
 * The chain's positions in the order RePaint visits them: p = 0 the start, p = k + 1 after step k;
 * a move p → p + 1 is step p, a move p → p − j a forward jump.
 */
export function repaintPositions(S: number, o: RepaintOptions): number[] {
  const { jump: j, resample: r } = o;
  if (!(Number.isInteger(j) && j >= 1)) throw new Error(`RePaint: the jump length must be a positive integer, got ${j}`);
  if (!(Number.isInteger(r) && r >= 1)) throw new Error(`RePaint: resamples must be a positive integer, got ${r}`);
  const jumpsLeft = new Map<number, number>();
  for (let t = 0; t < S - j; t += j) jumpsLeft.set(t, r - 1);
  const out = [0];
  let p = 0;
  while (p < S) {
    p += 1;
    out.push(p);
    const t = S - 1 - p, left = jumpsLeft.get(t) ?? 0;
    if (left > 0) {
      jumpsLeft.set(t, left - 1);
      p -= j;
      out.push(p);
    }
  }
  return out;
}

/** q(x_hi | x_lo) of a process with marginals x = m·x₀ + s·z: x_hi = (m_hi/m_lo)·x_lo + √(s_hi² − (m_hi/m_lo)²·s_lo²)·z. */
export function forwardJump(lo: Marginal, hi: Marginal): { a: number; c: number } {
  const a = hi.mean / lo.mean;
  return { a, c: Math.sqrt(Math.max(0, hi.std * hi.std - a * a * lo.std * lo.std)) };
}

/** The plan with RePaint's jumps: its steps in the order visited, a forward-noising step for each jump. */
export function repaintPlan(plan: SamplerPlan, proc: DiscreteProcess, o: RepaintOptions): SamplerPlan {
  const base = plan.name.replace(/\(.*$/, '');
  if (!(REPAINT_SAMPLERS as readonly string[]).includes(base) || plan.ops) {
    throw new Error(`RePaint resampling (--resample) needs a sampler whose steps carry only x: ${REPAINT_SAMPLERS.join(' or ')}; got '${plan.name}'`);
  }
  const S = plan.steps.length;
  if (o.jump >= S) throw new Error(`RePaint: the jump length ${o.jump} must be smaller than the sampler's ${S} steps`);
  // level at position p: before the first step the marginal at its index, then each step's level
  const levelAt = (p: number): Marginal => (p === 0 ? proc.marginal(plan.steps[0].index!) : plan.steps[p - 1].level!);
  const pos = repaintPositions(S, o);
  const steps: PlanStep[] = [];
  for (let i = 1; i < pos.length; i++) {
    const from = pos[i - 1], to = pos[i];
    if (to === from + 1) steps.push(plan.steps[from]);
    else {
      const { a, c } = forwardJump(levelAt(from), levelAt(to));
      steps.push({ cond: plan.steps[to].cond, index: plan.steps[to].index, noise: true, coef: { p: 0, q: 0, a, b: 0, c }, level: levelAt(to) });
    }
  }
  return { ...plan, name: `${plan.name} + RePaint(j=${o.jump}, r=${o.resample})`, steps };
}
