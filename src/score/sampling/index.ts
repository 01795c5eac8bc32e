// The image samplers, registered by name with a one-line description (for --help) and the plan
// each makes; `runPlan` executes any of them on the device.
import type { DiscreteProcess } from '../processes/process.js';
import { ancestralPlan, type AncestralOptions } from './ancestral.js';
import { ddimPlan, type DdimOptions } from './ddim.js';
import { annealedPlan, type AnnealedOptions } from './annealed.js';
import type { SamplerPlan } from './plan.js';

export * from './plan.js';
export { ancestralPlan, type AncestralOptions, type AncestralVariance } from './ancestral.js';
export { ddimPlan, ddimTimesteps, SPACINGS, type Spacing, type DdimOptions } from './ddim.js';
export { annealedPlan, ncsnv2StepSize, type AnnealedOptions } from './annealed.js';

export const IMAGE_SAMPLERS = {
  ancestral: 'ancestral sampling through the chain\'s posterior q(x_{t−1} | x_t, x̂₀), every index (DDPM Alg. 2; VE ancestral for NCSN)',
  ddim: 'DDIM with --steps S ≤ N and --eta η (0: deterministic; 1 with S = N: ancestral)',
  annealed: 'annealed Langevin dynamics over the noise levels with the final denoising step (NCSN Alg. 1; NCSN models only)',
} as const;
export type ImageSamplerName = keyof typeof IMAGE_SAMPLERS;

export type PlanOptions = AncestralOptions & DdimOptions & AnnealedOptions;

export function makePlan(name: string, proc: DiscreteProcess, o: PlanOptions = {}): SamplerPlan {
  switch (name) {
    case 'ancestral':
      return ancestralPlan(proc, o);
    case 'ddim':
      return ddimPlan(proc, o);
    case 'annealed':
      return annealedPlan(proc, o);
    default:
      throw new Error(`unknown sampler '${name}'; valid: ${Object.keys(IMAGE_SAMPLERS).join(', ')}`);
  }
}
