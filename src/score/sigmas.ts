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

/** Standard normal CDF Φ(x) = ½·erfc(−x/√2), erfc by its continued fraction / series (|error| < 1e-14). */
export function normalCdf(x: number): number {
  const z = -x / Math.SQRT2;
  return 0.5 * erfc(z);
}

function erfc(z: number): number {
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) {
    // erf by its Taylor series: erf z = (2/√π) Σ (−1)ⁿ z^{2n+1} / (n! (2n+1))
    let term = z, sum = z;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Lentz's continued fraction: erfc z = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …))))
  let f = z, c = z, d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = z + a * d;
    c = z + a / c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/**
 * NCSNv2 (Song & Ermon 2020), technique 2: the common ratio γ = σ_{i−1}/σ_i of the geometric
 * levels for data of dimension D, the largest γ with
 *   Φ(√(2D)(γ − 1) + 3γ) − Φ(√(2D)(γ − 1) − 3γ) ≥ ½
 * (a sample of N(x, σ_{i−1}²I) lands, with probability about ½, within 3σ_i of the shell where
 * N(x, σ_i²I) keeps its mass, so each level starts the next one well). When √(2D) ≤ 3 (D ≤ 4)
 * the left side stays above 1 − Φ(−√(2D)) > ½ for every γ: low dimensions put no bound on γ, this
 * returns Infinity and the caller caps it.
 */
export function ncsnv2Gamma(D: number): number {
  if (!(Number.isInteger(D) && D >= 1)) throw new Error(`ncsnv2Gamma: D must be a positive integer, got ${D}`);
  const k = Math.sqrt(2 * D);
  const f = (g: number) => normalCdf(k * (g - 1) + 3 * g) - normalCdf(k * (g - 1) - 3 * g);
  if (k <= 3) return Infinity;
  // f decreases from f(1) = Φ(3) − Φ(−3) > ½ to 0: bisection on a bracket grown until f < ½
  let lo = 1, hi = 2;
  while (f(hi) >= 0.5) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) {
    const m = (lo + hi) / 2;
    if (f(m) >= 0.5) lo = m;
    else hi = m;
  }
  return lo;
}
