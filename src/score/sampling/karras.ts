// EDM's view of a process (Karras et al. 2022): x = m·(x₀ + σ·ε), i.e. σ = s/m and x̃ = x/m is data plus
// noise of std σ, denoised by D(x̃; σ) = the model's x̂₀. Their time discretisation (eq. 5):
//   σ_i = (σ_max^{1/ρ} + i/(n − 1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,  i = 0 … n − 1,   σ_n = 0,   ρ = 7,
// with σ_min, σ_max the process's own (its smallest and largest noise index). A sampler at an
// arbitrary σ needs the network's input and m there (`noiseLevel`):
//   score SDEs: t = timeOfSigma(σ), cond(t), m(t);
//   NCSN: cond = σ, m = 1;
//   DDPM: the fractional index by linear interpolation of log σ between its indices (k-diffusion's
//     DiscreteSchedule.sigma_to_t), cond = that index, m = 1/√(1 + σ²) (ᾱ = 1/(1 + σ²)).
import type { DiscreteProcess } from '../processes/process.js';
import { DdpmProcess } from '../processes/ddpm.js';
import { NcsnProcess } from '../processes/ncsn.js';
import { sdeOf } from '../sde/index.js';

/** n σ levels from σ_max down to σ_min, ρ-spaced (without the final 0). */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`karras schedule: n must be a positive integer, got ${n}`);
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin && rho > 0)) throw new Error(`karras schedule: need 0 < σ_min < σ_max and ρ > 0, got ${sigmaMin}, ${sigmaMax}, ${rho}`);
  const a = sigmaMax ** (1 / rho), b = sigmaMin ** (1 / rho);
  return Array.from({ length: n }, (_, i) => (n === 1 ? sigmaMax : (a + (i / (n - 1)) * (b - a)) ** rho));
}

/** σ = s/m at a noise index. */
export function sigmaAt(proc: DiscreteProcess, i: number): number {
  const m = proc.marginal(i);
  return m.std / m.mean;
}

/** The process's σ range: its smallest and largest noise index. */
export function sigmaRange(proc: DiscreteProcess): { sigmaMin: number; sigmaMax: number } {
  return { sigmaMin: sigmaAt(proc, 0), sigmaMax: sigmaAt(proc, proc.N - 1) };
}

/** The network's input and the mean coefficient m where the process's σ = s/m takes a given value. */
export function noiseLevel(proc: DiscreteProcess, sigma: number): { cond: number; mean: number } {
  const sde = sdeOf(proc);
  if (sde) {
    const t = sde.timeOfSigma(sigma);
    return { cond: sde.conditioning(t), mean: sde.marginalProb(t).mean };
  }
  if (proc instanceof NcsnProcess) return { cond: sigma, mean: 1 };
  if (proc instanceof DdpmProcess) {
    // log σ_i increases with i: find the bracketing pair, clamped to the table's ends
    const ls = Math.log(sigma);
    let lo = 0, hi = proc.N - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (Math.log(sigmaAt(proc, mid)) <= ls) lo = mid;
      else hi = mid;
    }
    const l0 = Math.log(sigmaAt(proc, lo)), l1 = Math.log(sigmaAt(proc, lo + 1));
    const w = Math.min(1, Math.max(0, (ls - l0) / (l1 - l0)));
    return { cond: (1 - w) * proc.conditioning(lo) + w * proc.conditioning(lo + 1), mean: 1 / Math.sqrt(1 + sigma * sigma) };
  }
  throw new Error(`σ-parametrised samplers need a process with a continuous noise level (ddpm, ncsn, ve, vp, subvp); got ${proc.name}`);
}
