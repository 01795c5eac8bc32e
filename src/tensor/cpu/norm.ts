// Float64 references for GroupNorm (+ optional SiLU) and its backward over [B, C, ...].

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export interface GroupNormRef {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

export function groupNormRef(x: ArrayLike<number>, shape: readonly number[], groups: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps: number, silu = false): GroupNormRef {
  const [B, C] = shape;
  const S = x.length / (B * C);
  const cpg = C / groups, n = cpg * S;
  const y = new Float64Array(x.length), mean = new Float64Array(B * groups), rstd = new Float64Array(B * groups);
  for (let w = 0; w < B * groups; w++) {
    const base = w * n;
    let m = 0;
    for (let i = 0; i < n; i++) m += x[base + i];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[base + i] - m) ** 2;
    const r = 1 / Math.sqrt(v / n + eps);
    mean[w] = m;
    rstd[w] = r;
    const g = w % groups;
    for (let i = 0; i < n; i++) {
      const c = g * cpg + Math.floor(i / S);
      let z = (x[base + i] - m) * r * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
      if (silu) z = z * sigmoid(z);
      y[base + i] = z;
    }
  }
  return { y, mean, rstd };
}

/** Analytic backward; gy is the gradient of the forward's output (after SiLU when silu). */
export function groupNormBackwardRef(x: ArrayLike<number>, gy: ArrayLike<number>, shape: readonly number[], groups: number, gamma: ArrayLike<number> | null, beta: ArrayLike<number> | null, eps: number, silu = false) {
  const [B, C] = shape;
  const S = x.length / (B * C);
  const cpg = C / groups, n = cpg * S;
  const { mean, rstd } = groupNormRef(x, shape, groups, gamma, beta, eps);
  const gx = new Float64Array(x.length), ggamma = new Float64Array(C), gbeta = new Float64Array(C);
  for (let w = 0; w < B * groups; w++) {
    const base = w * n, g = w % groups, m = mean[w], r = rstd[w];
    const xh = (i: number) => (x[base + i] - m) * r;
    const ch = (i: number) => g * cpg + Math.floor(i / S);
    const gz = (i: number) => {
      const c = ch(i);
      if (!silu) return gy[base + i];
      const z = xh(i) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
      const s = sigmoid(z);
      return gy[base + i] * s * (1 + z * (1 - s));
    };
    let mg = 0, mgx = 0;
    for (let i = 0; i < n; i++) {
      const c = ch(i), ga = gamma ? gamma[c] : 1, dz = gz(i);
      ggamma[c] += dz * xh(i);
      gbeta[c] += dz;
      mg += ga * dz;
      mgx += ga * dz * xh(i);
    }
    mg /= n;
    mgx /= n;
    for (let i = 0; i < n; i++) {
      const ga = gamma ? gamma[ch(i)] : 1;
      gx[base + i] = r * (ga * gz(i) - mg - xh(i) * mgx);
    }
  }
  return { gx, ggamma, gbeta };
}
