// Predictor–corrector sampling (Song et al. 2021, Alg. 1; score_sde's `get_pc_sampler`), assembled
// from registries of predictors and correctors by name:
//   x ~ prior;  for t in linspace(T, ε, N):  x ← corrector(x, t) (n steps);  x ← predictor(x, t)
// and with denoising (score_sde's noise_removal, on by default) the chain returns the last update's
// x_mean, i.e. its last noise draw is left out. Each predictor or corrector step is one network
// evaluation and one fused update (the Langevin corrector's step size from the batch's norms on the
// device), so the chain is one recorded step replayed N·(1 + n) times (fewer with 'none').
// `--sampler em` is this with the Euler–Maruyama predictor and no corrector.
import type { DiscreteProcess } from '../../processes/process.js';
import type { UpdateCoef } from '../../../tensor/ops/affine_update.js';
import type { PlanStep, SamplerPlan } from '../plan.js';
import { pcContext, timeGrid, stepsError, type PcContext } from './context.js';
import { eulerMaruyama } from './euler_maruyama.js';
import { reverseDiffusion } from './reverse_diffusion.js';
import { ancestralPredictor } from './ancestral.js';
import { langevin } from './langevin.js';
import { annealedLangevin } from './ald.js';

export { pcContext, langevinAlpha, timeGrid, type PcContext } from './context.js';

type Predictor = (ctx: PcContext, t: number, noise: boolean) => UpdateCoef;
type Corrector = (ctx: PcContext, t: number, n: number, snr: number, lastNoise: boolean) => PlanStep[];

export const PREDICTORS: Record<string, { help: string; fn: Predictor | null }> = {
  euler_maruyama: { help: 'Euler–Maruyama step of the reverse SDE', fn: eulerMaruyama },
  reverse_diffusion: { help: 'the forward discretisation reversed (DDPM / SMLD chains)', fn: reverseDiffusion },
  ancestral: { help: 'ancestral sampling of the discretisation (VE and VP)', fn: ancestralPredictor },
  none: { help: 'corrector only', fn: null },
};

export const CORRECTORS: Record<string, { help: string; fn: Corrector | null }> = {
  langevin: { help: 'Langevin MCMC with the signal-to-noise step rule', fn: langevin },
  ald: { help: 'annealed Langevin dynamics (step from the marginal std)', fn: annealedLangevin },
  none: { help: 'predictor only', fn: null },
};

export interface PcOptions {
  predictor?: string;
  corrector?: string;
  /** Signal-to-noise ratio of the correctors (score_sde's default 0.16). */
  snr?: number;
  /** Corrector steps per noise level (default 1). */
  correctorSteps?: number;
  /** Number of time steps N (default: the process's N). */
  steps?: number;
  /** End time ε of the grid (default 1e-3). */
  endTime?: number;
  /** Leave out the last noise draw (default on). */
  denoise?: boolean;
}

function pick<T>(table: Record<string, T>, name: string, what: string): T {
  const v = table[name];
  if (!v) throw new Error(`unknown ${what} '${name}'; valid: ${Object.keys(table).join(', ')}`);
  return v;
}

export function pcPlan(proc: DiscreteProcess, o: PcOptions = {}, sampler = 'pc'): SamplerPlan {
  const pName = o.predictor ?? 'reverse_diffusion', cName = o.corrector ?? 'langevin';
  const predictor = pick(PREDICTORS, pName, 'predictor').fn, corrector = pick(CORRECTORS, cName, 'corrector').fn;
  if (!predictor && !corrector) throw new Error(`${sampler}: predictor and corrector cannot both be 'none'`);
  const snr = o.snr ?? 0.16, n = o.correctorSteps ?? 1, eps = o.endTime ?? 1e-3;
  if (!(snr > 0)) throw new Error(`${sampler}: snr must be > 0, got ${snr}`);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`${sampler}: corrector steps must be a positive integer, got ${n}`);
  const N = o.steps ?? proc.N;
  const ctx = pcContext(proc, N, sampler);
  if (!(eps > 0 && eps < ctx.sde.T)) throw new Error(`${sampler}: ε must be in (0, ${ctx.sde.T}), got ${eps}`);
  const denoise = o.denoise !== false;
  const ts = timeGrid(ctx.sde, N, eps);
  const steps: PlanStep[] = [];
  try {
    ts.forEach((t, i) => {
      const last = i === ts.length - 1;
      // levels for inpainting: a corrector stays at t, a predictor moves to the next time (the last to clean data)
      const here = ctx.sde.marginalProb(t), next = last ? { mean: 1, std: 0 } : ctx.sde.marginalProb(ts[i + 1]);
      // (every step's network call reads x at t: `input`, for previews)
      if (corrector) steps.push(...corrector(ctx, t, n, snr, !(last && denoise && !predictor)).map((s) => ({ ...s, level: here, input: here })));
      if (predictor) steps.push({ cond: ctx.cond(t), coef: predictor(ctx, t, !(last && denoise)), level: next, input: here });
    });
  } catch (e) {
    throw stepsError(e, sampler, N); // the discrete chain's β_max/N < 1, in the sampler's words
  }
  const name = sampler === 'em' ? `em(${N})` : `pc(${pName}+${cName}, ${N}${corrector ? `, snr ${snr}${n > 1 ? `, ${n} corrector steps` : ''}` : ''})`;
  const plan: SamplerPlan = { name, init: { kind: 'normal', std: ctx.sde.priorStd }, steps, clip: false };
  if (cName !== 'langevin') return plan;
  // one op whose b and c the SNR rule sets on corrector steps (scale 0 on predictor steps)
  return { ...plan, ops: [{ target: 'x', source: 'out', snr: true }], steps: steps.map((s) => ({ ...s, coefs: [s.coef], snr: s.snr ?? { scale: 0, noise: 0 } })) };
}

/** Euler–Maruyama: the PC sampler with the Euler–Maruyama predictor and no corrector. */
export function emPlan(proc: DiscreteProcess, o: PcOptions = {}): SamplerPlan {
  return pcPlan(proc, { ...o, predictor: 'euler_maruyama', corrector: 'none' }, 'em');
}
