// The image samplers, registered by name with a one-line description (for --help) and the plan
// each makes; `runPlan` executes any of them on the device.
import type { DiscreteProcess } from '../processes/process.js';
import { ancestralPlan, type AncestralOptions } from './ancestral.js';
import { ddimPlan, type DdimOptions } from './ddim.js';
import { annealedPlan, type AnnealedOptions } from './annealed.js';
import { pcPlan, emPlan, PREDICTORS, CORRECTORS, type PcOptions } from './pc/index.js';
import { dpmpp2mPlan, type DpmOptions } from './dpmpp2m.js';
import { heunPlan, type HeunOptions } from './heun.js';
import type { SamplerPlan } from './plan.js';

export * from './plan.js';
export { ancestralPlan, type AncestralOptions, type AncestralVariance } from './ancestral.js';
export { ddimPlan, ddimTimesteps, SPACINGS, type Spacing, type DdimOptions } from './ddim.js';
export { annealedPlan, ncsnv2StepSize, type AnnealedOptions } from './annealed.js';
export { pcPlan, emPlan, pcContext, langevinAlpha, timeGrid, PREDICTORS, CORRECTORS, type PcOptions, type PcContext } from './pc/index.js';
export { dpmpp2mPlan, dpmTimesteps, type DpmOptions } from './dpmpp2m.js';
export { heunPlan, type HeunOptions } from './heun.js';
export { karrasSigmas, noiseLevel, sigmaRange, sigmaAt } from './karras.js';

export const IMAGE_SAMPLERS = {
  ancestral: 'ancestral sampling through the chain\'s posterior q(x_{t−1} | x_t, x̂₀), every index (DDPM Alg. 2; VE ancestral for NCSN)',
  ddim: 'DDIM with --steps S ≤ N and --eta η (0: deterministic; 1 with S = N: ancestral)',
  annealed: 'annealed Langevin dynamics over the noise levels with the final denoising step (NCSN Alg. 1; NCSN models only)',
  em: 'Euler–Maruyama on the reverse SDE, --steps N from t = 1 to 1e-3 (score SDEs; ddpm with linear β and ncsn through the SDE they discretise)',
  pc: `predictor–corrector (score_sde): --predictor ${Object.keys(PREDICTORS).join('|')} (default reverse_diffusion), --corrector ${Object.keys(CORRECTORS).join('|')} (default langevin), --snr (0.16), --corrector-steps (1), --steps N; same processes as em`,
  dpmpp2m: 'DPM-Solver++(2M), --steps S (default 20) evaluations, any process',
  heun: "EDM's Heun sampler on the Karras σ schedule (ρ = 7), --steps n levels (default 18; 2n − 1 evaluations), --churn S_churn; any process",
} as const;
export type ImageSamplerName = keyof typeof IMAGE_SAMPLERS;

export type PlanOptions = AncestralOptions & DdimOptions & AnnealedOptions & PcOptions & DpmOptions & HeunOptions;

export function makePlan(name: string, proc: DiscreteProcess, o: PlanOptions = {}): SamplerPlan {
  switch (name) {
    case 'ancestral':
      return ancestralPlan(proc, o);
    case 'ddim':
      return ddimPlan(proc, o);
    case 'annealed':
      return annealedPlan(proc, o);
    case 'em':
      return emPlan(proc, o);
    case 'pc':
      return pcPlan(proc, o);
    case 'dpmpp2m':
      return dpmpp2mPlan(proc, o);
    case 'heun':
      return heunPlan(proc, o);
    default:
      throw new Error(`unknown sampler '${name}'; valid: ${Object.keys(IMAGE_SAMPLERS).join(', ')}`);
  }
}
