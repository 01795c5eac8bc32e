// The registry of noise processes: build one from its JSON description (what a run's config holds).
// The score SDEs (../sde/) build as their time grid (an SdeGrid, whose `.sde` is the continuous one).
import type { DiscreteProcess, ProcessSpec } from './process.js';
import { NcsnProcess } from './ncsn.js';
import { DdpmProcess } from './ddpm.js';
import { SDES, SdeGrid, buildSde, isSdeSpec } from '../sde/index.js';

export * from './process.js';
export { NcsnProcess, ncsnv2Levels, maxPairwiseDistance } from './ncsn.js';
export { DdpmProcess, linearBetas, cosineBetas, type BetaSchedule } from './ddpm.js';

export const PROCESSES = {
  ncsn: 'NCSN: geometric noise levels σ, the network predicts the score (annealed Langevin sampling)',
  ddpm: 'DDPM: variance-preserving chain with β linear 1e-4 → 0.02 (or cosine) over T = 1000, the network predicts ε (ancestral, DDIM)',
  ...SDES,
} as const;
export type ProcessName = keyof typeof PROCESSES;

export function buildProcess(spec: ProcessSpec): DiscreteProcess {
  if (isSdeSpec(spec)) return new SdeGrid(buildSde(spec));
  switch (spec.kind) {
    case 'ncsn':
      return new NcsnProcess(spec.sigmaMax, spec.sigmaMin, spec.levels);
    case 'ddpm':
      return new DdpmProcess(spec.schedule, spec.T, spec.betaStart, spec.betaEnd);
    default:
      throw new Error(`unknown noise process '${(spec as { kind: string }).kind}'; valid: ${Object.keys(PROCESSES).join(', ')}`);
  }
}
