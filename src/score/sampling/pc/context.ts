// What the predictors and correctors of a PC sampler (./index.ts) see: the forward SDE with N steps,
// the score as an affine map of (x, out) at each t (the model-output adapter at the SDE's marginal),
// the reverse-time SDE built from it (score_sde's `sde.reverse(score_fn)`), and the network's
// noise-level input at t.
//
// A model of a discrete process is sampled through the SDE whose discretisation that process is,
// as score_sde samples its DDPM and SMLD checkpoints:
//   DDPM, linear β from β_1 to β_T over T steps  →  VP SDE with β_min = T·β_1, β_max = T·β_T
//     (its DDPM discretisation with N = T is that chain exactly); the network is fed t·(T − 1);
//   NCSN, L geometric levels σ_min … σ_max         →  VE SDE σ_min … σ_max (its SMLD levels with N = L
//     are NCSN's); the network is fed σ(t).
// The score then uses the SDE's continuous marginal at t (for DDPM within O(1/T) of ᾱ's).
import type { DiscreteProcess } from '../../processes/process.js';
import { DdpmProcess } from '../../processes/ddpm.js';
import { NcsnProcess } from '../../processes/ncsn.js';
import { buildSde, sdeOf, type SdeSpec } from '../../sde/index.js';
import { VeSde } from '../../sde/ve.js';
import { VpSde, LinearBetaSde } from '../../sde/vp.js';
import type { Sde, ScoreFn, ReverseSde } from '../../sde/sde.js';

export interface PcContext {
  /** The forward SDE with N = the number of PC steps (its discretisation is per step). */
  sde: Sde;
  score: ScoreFn;
  /** The reverse-time SDE of `sde` for `score` (score_sde's rsde). */
  rsde: ReverseSde;
  /** The network's noise-level input at time t. */
  cond: (t: number) => number;
}

/** The SDE behind a process, with N steps, and how its network is conditioned (see above). */
export function pcContext(proc: DiscreteProcess, N: number, sampler: string): PcContext {
  if (!(Number.isInteger(N) && N >= 2)) throw new Error(`${sampler}: steps must be an integer ≥ 2, got ${N}`);
  let sde: Sde, cond: (t: number) => number;
  const grid = sdeOf(proc);
  try {
    if (grid) {
      sde = buildSde({ ...(grid.describe() as SdeSpec), N });
      cond = (t) => sde.conditioning(t);
    } else if (proc instanceof DdpmProcess && proc.schedule === 'linear') {
      sde = new VpSde(proc.T * proc.betaStart, proc.T * proc.betaEnd, N);
      cond = (t) => t * (proc.T - 1);
    } else if (proc instanceof NcsnProcess) {
      sde = new VeSde(proc.sigmaMin, proc.sigmaMax, N);
      cond = (t) => sde.conditioning(t);
    } else {
      throw new Error(`sampler '${sampler}' needs a score SDE (ve, vp, subvp) or a process that discretises one (ncsn, linear-β ddpm); this model's process is ${proc.name}${proc instanceof DdpmProcess ? ` with the ${proc.schedule} schedule` : ''} — use ddim, ancestral, dpmpp2m or heun`);
    }
  } catch (e) {
    throw stepsError(e, sampler, N);
  }
  const score = sde.modelScore();
  return { sde, score, rsde: sde.reverse(score), cond };
}

/** VP's DDPM discretisation needs β_max/N < 1: that error in the sampler's words (others unchanged). */
export function stepsError(e: unknown, sampler: string, N: number): unknown {
  if (e instanceof Error && /β_max\/N must be < 1/.test(e.message)) {
    return new Error(`${sampler}: a VP-type process needs more steps than β_max = ${(e.message.match(/β_max = ([\d.]+)/) ?? [])[1]} for its DDPM discretisation (β_i ≈ β(t)/N < 1; em and ode take any N); got --steps ${N}`);
  }
  return e;
}

/**
 * α at t for the Langevin correctors (score_sde: `alphas[timestep]` for VP and sub-VP, 1 for VE): 1 − β_i
 * of the DDPM discretisation, β_i = β(i/(N − 1))/N at i = ⌊t·(N − 1)⌋. (score_sde's sub-VP has no
 * `alphas`; the same β_i serve here.)
 */
export function langevinAlpha(sde: Sde, t: number): number {
  if (sde instanceof VpSde) return 1 - sde.discreteBetas[sde.timestep(t)];
  if (sde instanceof LinearBetaSde) {
    if (!(sde.betaMax < sde.N)) throw new Error(`${sde.name}: β_max/N must be < 1 for the DDPM discretisation, got β_max = ${sde.betaMax}, N = ${sde.N}`);
    return 1 - sde.beta(sde.timestep(t) / (sde.N - 1)) / sde.N;
  }
  return 1;
}

/** score_sde's sampling grid: N times linspace(T, ε, N). */
export function timeGrid(sde: Sde, N: number, eps: number): number[] {
  return Array.from({ length: N }, (_, i) => (N === 1 ? sde.T : sde.T + ((eps - sde.T) * i) / (N - 1)));
}
