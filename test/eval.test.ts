import { describe, expect, it } from 'vitest';
import { Rng } from '../src/data/rng.js';
import { sampleToy } from '../src/data/toy.js';
import {
  energyDistance,
  evaluateSamples,
  frechetDistance,
  frechetFromStats,
  meanCov,
  medianBandwidth,
  mmdRbf,
  randomDirections,
  slicedWasserstein2,
} from '../src/eval/metrics.js';
import { matmulSq, sqrtmPsd, symEig } from '../src/eval/linalg.js';

function gauss(n: number, dim: number, seed: number, mean: number[] = [], std = 1): Float64Array {
  const r = new Rng(seed);
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) x[i * dim + k] = (mean[k] ?? 0) + std * r.normal();
  return x;
}

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const Phi = (z: number) => 0.5 * (1 + erf(z / Math.SQRT2));
/** E|Z| for Z ~ N(m, s²) */
const meanAbs = (m: number, s: number) => s * Math.sqrt(2 / Math.PI) * Math.exp(-(m * m) / (2 * s * s)) + m * (1 - 2 * Phi(-m / s));

describe('energy distance', () => {
  it('≈ 0 for the same distribution, larger when shifted, matches the 1-D Gaussian closed form', () => {
    const a = sampleToy('moons', 1200, 1);
    const b = sampleToy('moons', 1200, 2);
    const same = energyDistance(a, b, 2);
    expect(Math.abs(same)).toBeLessThan(0.01);
    const shifted = Float32Array.from(b, (v, i) => (i % 2 === 0 ? v + 0.5 : v));
    expect(energyDistance(a, shifted, 2)).toBeGreaterThan(20 * Math.max(Math.abs(same), 0.001));

    // X ~ N(0,1), Y ~ N(mu,1):  ED = 2E|X−Y| − E|X−X'| − E|Y−Y'| with X−Y ~ N(−mu, 2).
    const mu = 1;
    const closed = 2 * meanAbs(mu, Math.SQRT2) - 2 * meanAbs(0, Math.SQRT2);
    const x = gauss(2000, 1, 3);
    const y = gauss(2000, 1, 4, [mu]);
    expect(closed).toBeCloseTo(0.5418, 3);
    expect(Math.abs(energyDistance(x, y, 1) - closed)).toBeLessThan(0.06);
  });

  it('rejects ragged input', () => {
    expect(() => energyDistance(new Float32Array(5), new Float32Array(6), 2)).toThrow(/rows of dim 2/);
  });
});

describe('MMD', () => {
  it('≈ 0 for the same distribution, larger when shifted; median bandwidth is sane', () => {
    const a = sampleToy('8gaussians', 1000, 1);
    const b = sampleToy('8gaussians', 1000, 2);
    const h = medianBandwidth(a, b, 2);
    expect(h).toBeGreaterThan(1);
    expect(h).toBeLessThan(6);
    const same = mmdRbf(a, b, 2);
    expect(Math.abs(same)).toBeLessThan(0.005);
    const shifted = Float32Array.from(b, (v) => v * 0.5);
    expect(mmdRbf(a, shifted, 2)).toBeGreaterThan(Math.max(10 * Math.abs(same), 0.02));
    // explicit bandwidth is honoured (a wider kernel sees less of the shift)
    expect(mmdRbf(a, shifted, 2, 50)).toBeLessThan(mmdRbf(a, shifted, 2, 2));
    // known value: two single-point-ish sets. x = {0, 0}, y = {d, d} (1-D), h=1:
    // MMD² = k(0,0) + k(d,d) − 2k(0,d) = 2 − 2e^{−d²/2}
    const d = 1.3;
    expect(mmdRbf([0, 0], [d, d], 1, 1)).toBeCloseTo(2 - 2 * Math.exp((-d * d) / 2), 12);
  });
});

describe('sliced Wasserstein', () => {
  it('a translation by d gives SW2² = E(θ·d)² = |d|²/2 in 2-D', () => {
    const x = sampleToy('rings', 1500, 1);
    const d = [1, 2];
    const y = Float32Array.from(x, (v, i) => v + d[i % 2]);
    const sw = slicedWasserstein2(x, y, 2, 128, 7);
    // exact for the same points shifted: the mean of (θ·d)² over the same directions
    const th = randomDirections(128, 2, 7);
    let e = 0;
    for (let p = 0; p < 128; p++) e += (th[2 * p] * d[0] + th[2 * p + 1] * d[1]) ** 2 / 128;
    expect(sw * sw).toBeCloseTo(e, 3);
    expect(Math.abs(sw * sw - 2.5) / 2.5).toBeLessThan(0.15);
    // with an independent draw the shift still dominates
    const z = sampleToy('rings', 1500, 2).map((v, i) => v + d[i % 2]);
    expect(Math.abs(slicedWasserstein2(x, z, 2, 256, 3) ** 2 - 2.5) / 2.5).toBeLessThan(0.2);
    // same distribution: small
    expect(slicedWasserstein2(x, sampleToy('rings', 1500, 3), 2)).toBeLessThan(0.15);
  });

  it('handles sets of different sizes (quantile matching)', () => {
    const x = gauss(1000, 3, 1);
    const y = gauss(700, 3, 2, [0.5, 0, 0]);
    const sw = slicedWasserstein2(x, y, 3, 256, 1);
    expect(Math.abs(sw * sw - 0.25 / 3)).toBeLessThan(0.04);
  });
});

describe('Fréchet distance', () => {
  it('symmetric eigendecomposition reconstructs A and sqrtm squares back', () => {
    const n = 7;
    const r = new Rng(5);
    const b = Float64Array.from({ length: n * n }, () => r.normal());
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
    const { values, vectors } = symEig(a, n);
    for (let i = 1; i < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1]);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors[i * n + k] * values[k] * vectors[j * n + k];
        expect(s).toBeCloseTo(a[i * n + j], 9);
      }
    }
    const s = sqrtmPsd(a, n);
    const ss = matmulSq(s, s, n);
    for (let i = 0; i < n * n; i++) expect(ss[i]).toBeCloseTo(a[i], 8);
  });

  it('matches closed forms', () => {
    // 1-D: (μ1−μ2)² + (σ1−σ2)²
    expect(frechetFromStats([1], [4], [3], [9], 1)).toBeCloseTo(4 + 1, 10);
    // commuting (diagonal) covariances
    expect(frechetFromStats([0, 0], [1, 0, 0, 4], [1, 1], [4, 0, 0, 1], 2)).toBeCloseTo(2 + 1 + 1, 10);
    // rotating both Gaussians by the same rotation changes nothing
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const R = [c, -s, s, c];
    const rot = (m: number[]) => {
      const t = matmulSq(R, m, 2);
      return matmulSq(t, [c, s, -s, c], 2);
    };
    const A = [2, 0.3, 0.3, 1];
    const B = [1, -0.4, -0.4, 3];
    expect(frechetFromStats([0, 0], rot(A), [0, 0], rot(B), 2)).toBeCloseTo(frechetFromStats([0, 0], A, [0, 0], B, 2), 10);
    // identical
    expect(frechetFromStats([1, 2], A, [1, 2], A, 2)).toBeCloseTo(0, 10);
  });

  it('on samples: small for the same Gaussian, |Δμ|² for a shift', () => {
    const x = gauss(4000, 4, 1);
    const y = gauss(4000, 4, 2);
    expect(frechetDistance(x, y, 4)).toBeLessThan(0.03);
    const z = gauss(4000, 4, 3, [1, 0, 1, 0]);
    expect(Math.abs(frechetDistance(x, z, 4) - 2)).toBeLessThan(0.15);
    const { cov } = meanCov(x, 4);
    expect(cov[0]).toBeCloseTo(1, 1);
  });
});

describe('evaluateSamples', () => {
  it('reports metrics against a same-size held-out noise floor', () => {
    const held = sampleToy('swissroll', 3000, 1);
    const held2 = sampleToy('swissroll', 3000, 2);
    const good = sampleToy('swissroll', 5000, 3);
    const bad = sampleToy('8gaussians', 5000, 3);
    const mg = evaluateSamples(good, held, held2, 2, { maxN: 800 });
    const mb = evaluateSamples(bad, held, held2, 2, { maxN: 800 });
    expect(mg.n).toBe(800);
    expect(mg.floor).toEqual(mb.floor); // floor does not depend on the samples
    expect(mg.energyDistance).toBeLessThan(mg.floor.energyDistance + 0.03);
    expect(mg.sw2).toBeLessThan(3 * mg.floor.sw2 + 0.05);
    expect(mb.energyDistance).toBeGreaterThan(10 * Math.max(mg.floor.energyDistance, 0.005));
    expect(mb.mmd).toBeGreaterThan(10 * Math.max(Math.abs(mg.floor.mmd), 0.001));
    expect(mb.sw2).toBeGreaterThan(3 * mg.floor.sw2);
    const nan = Float32Array.from(good);
    nan[5] = NaN;
    const mn = evaluateSamples(nan, held, held2, 2, { maxN: 300 });
    expect(mn.energyDistance).toBe(Infinity);
    expect(Number.isFinite(mn.floor.energyDistance)).toBe(true);
  });
});

describe('V-statistic forms used for the noise floor', () => {
  it('are positive for equal distributions and exceed the unbiased forms by the diagonal terms', () => {
    const a = sampleToy('moons', 600, 11), b = sampleToy('moons', 600, 12);
    const edV = energyDistance(a, b, 2, true), edU = energyDistance(a, b, 2);
    const mmdV = mmdRbf(a, b, 2, 0.5, true), mmdU = mmdRbf(a, b, 2, 0.5);
    expect(edV).toBeGreaterThan(0);
    expect(mmdV).toBeGreaterThan(0);
    expect(edV).toBeGreaterThan(edU);
    // MMD: V − U = (1 − mean off-diagonal k) (1/n + 1/m) up to the n/(n−1) factors, so positive and O(1/n)
    expect(mmdV - mmdU).toBeGreaterThan(0);
    expect(mmdV - mmdU).toBeLessThan(2 / 600 + 1e-9);
    const m = evaluateSamples(a, b, sampleToy('moons', 600, 13), 2);
    expect(m.floor.energyDistance).toBeGreaterThan(0);
    expect(m.floor.mmd).toBeGreaterThan(0);
  });
});
