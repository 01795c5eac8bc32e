// The score SDEs (VE, VP, sub-VP): build one from its JSON description, and see it as a discrete
// process on a time grid (./grid.ts) where the discrete samplers and the run machinery want one.
import type { ProcessSpec } from '../processes/process.js';
import { Sde } from './sde.js';
import { VeSde } from './ve.js';
import { VpSde } from './vp.js';
import { SubVpSde } from './subvp.js';
import { SdeGrid } from './grid.js';

export * from './sde.js';
export { VeSde } from './ve.js';
export { VpSde, LinearBetaSde, VP_TIME_SCALE } from './vp.js';
export { SubVpSde } from './subvp.js';
export { SdeGrid } from './grid.js';

export const SDES = {
  ve: 'VE SDE: σ(t) = σ_min (σ_max/σ_min)^t, σ_min 0.01, σ_max from the data (NCSNv2 rule); continuous-time DSM; the network predicts the score',
  vp: 'VP SDE: β(t) linear 0.1 → 20 (DDPM in continuous time); continuous-time DSM; the network predicts ε',
  subvp: 'sub-VP SDE: VP\'s drift with diffusion β(t)(1 − e^{−2∫β}); continuous-time DSM; the network predicts ε',
} as const;

export type SdeSpec = Extract<ProcessSpec, { kind: 've' | 'vp' | 'subvp' }>;

export function isSdeSpec(spec: ProcessSpec): spec is SdeSpec {
  return spec.kind === 've' || spec.kind === 'vp' || spec.kind === 'subvp';
}

export function buildSde(spec: SdeSpec): Sde {
  switch (spec.kind) {
    case 've':
      return new VeSde(spec.sigmaMin, spec.sigmaMax, spec.N);
    case 'vp':
      return new VpSde(spec.betaMin, spec.betaMax, spec.N);
    case 'subvp':
      return new SubVpSde(spec.betaMin, spec.betaMax, spec.N);
  }
}

/** The default description of each SDE (VE's σ_max = 0: to be set from the data). */
export function defaultSdeSpec(kind: SdeSpec['kind']): SdeSpec {
  return kind === 've' ? { kind, sigmaMin: 0.01, sigmaMax: 0, N: 1000 } : { kind, betaMin: 0.1, betaMax: 20, N: 1000 };
}

/** The continuous SDE behind a process, if it is one (an SdeGrid). */
export function sdeOf(p: unknown): Sde | null {
  return p instanceof SdeGrid ? p.sde : null;
}
