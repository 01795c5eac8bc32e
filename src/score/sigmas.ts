// Noise levels of noise-conditional score networks (Song & Ermon 2019, "NCSN"):
// a geometric sequence σ₁ > σ₂ > … > σ_L.

/** σᵢ = σ₁·(σ_L/σ₁)^((i−1)/(L−1)), i = 1..L, largest first. */
export function geometricSigmas(sigmaMax: number, sigmaMin: number, L: number): Float32Array {
  if (!(sigmaMax > sigmaMin && sigmaMin > 0)) throw new Error(`sigmas: need σ_max > σ_min > 0, got ${sigmaMax}, ${sigmaMin}`);
  if (!(L >= 1 && Number.isInteger(L))) throw new Error(`sigmas: L must be a positive integer, got ${L}`);
  if (L === 1) return Float32Array.of(sigmaMax);
  const r = Math.log(sigmaMin / sigmaMax) / (L - 1);
  return Float32Array.from({ length: L }, (_, i) => sigmaMax * Math.exp(r * i));
}

/** NCSN Algorithm 1 step size at level i: αᵢ = ε·σᵢ²/σ_L². */
export function annealedStepSize(eps: number, sigma: number, sigmaL: number): number {
  return (eps * sigma * sigma) / (sigmaL * sigmaL);
}
