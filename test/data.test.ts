import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, deriveSeed, mulberry32 } from '../src/data/rng.js';
import { sampleToy, TOY_SETS, eightGaussiansModes } from '../src/data/toy.js';
import { decodeIdx, encodeIdx, FASHION_MNIST_DIR, loadFashionMnist, loadIdxImageDir, readIdx } from '../src/data/idx.js';
import { loadDataset, splitRows } from '../src/data/dataset.js';
import { encodeNpy } from '../src/io/npy.js';

function stats(x: Float32Array) {
  const n = x.length / 2;
  const m = [0, 0];
  const v = [0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) m[k] += x[2 * i + k] / n;
  for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) v[k] += (x[2 * i + k] - m[k]) ** 2 / n;
  return { mean: m, std: v.map(Math.sqrt), maxAbs: x.reduce((a, b) => Math.max(a, Math.abs(b)), 0) };
}

describe('rng', () => {
  it('is deterministic and roughly uniform / normal', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    for (let i = 0; i < 10; i++) expect(a.uniform()).toBe(b.uniform());
    const r = new Rng(1);
    let s = 0;
    let s2 = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.03);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.05);
    const u = mulberry32(3);
    for (let i = 0; i < 1000; i++) {
      const v = u();
      expect(v >= 0 && v < 1).toBe(true);
    }
    const p = new Rng(2).permutation(50);
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(deriveSeed(0, 1)).not.toBe(deriveSeed(1, 0));
  });
});

describe('toy sets', () => {
  it.each(TOY_SETS)('%s: shape, scale, determinism', (name) => {
    const x = sampleToy(name, 3000, 11);
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.length).toBe(6000);
    expect(x.every(Number.isFinite)).toBe(true);
    const s = stats(x);
    // Unit-ish scale, as the FFJORD generators: std of each coordinate O(1), all points within ±6.
    for (const sd of s.std) {
      expect(sd).toBeGreaterThan(0.5);
      expect(sd).toBeLessThan(3.5);
    }
    for (const m of s.mean) expect(Math.abs(m)).toBeLessThan(1.0);
    expect(s.maxAbs).toBeLessThan(6.5);
    expect(sampleToy(name, 3000, 11)).toEqual(x);
    const y = sampleToy(name, 3000, 12);
    let diff = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
    expect(diff).toBeGreaterThan(x.length * 0.9);
  });

  it('shape checks per set', () => {
    // 8 gaussians: every point near one of the 8 centres at radius 4/1.414.
    const g = sampleToy('8gaussians', 2000, 1);
    for (let i = 0; i < 2000; i++) {
      const r = Math.hypot(g[2 * i], g[2 * i + 1]);
      expect(Math.abs(r - 4 / 1.414)).toBeLessThan(2.2);
    }
    // …and the mixture it is described as (what the mode-weight metrics use): each point's nearest
    // centre; per component its share, mean and std agree with the description within sampling error
    const modes = eightGaussiansModes();
    expect(modes.reduce((t, m) => t + m.w, 0)).toBeCloseTo(1, 12);
    const n = 16000, h = sampleToy('8gaussians', n, 5 + ((Math.random() * 1e6) | 0));
    const acc = modes.map(() => ({ n: 0, s: [0, 0], q: [0, 0] }));
    for (let i = 0; i < n; i++) {
      const p = [h[2 * i], h[2 * i + 1]];
      const d = modes.map((m) => Math.hypot(p[0] - m.c[0], p[1] - m.c[1]));
      const a = acc[d.indexOf(Math.min(...d))];
      a.n++;
      for (const k of [0, 1]) (a.s[k] += p[k]), (a.q[k] += p[k] * p[k]);
    }
    modes.forEach((m, j) => {
      const a = acc[j];
      expect(Math.abs(a.n / n - m.w), `share of mode ${j}`).toBeLessThan(0.015); // 5.7 binomial sds
      for (const k of [0, 1]) {
        const mean = a.s[k] / a.n, sd = Math.sqrt(a.q[k] / a.n - mean * mean);
        expect(Math.abs(mean - m.c[k]), `mode ${j} mean`).toBeLessThan(0.06);
        expect(Math.abs(sd / m.sd[k] - 1), `mode ${j} std`).toBeLessThan(0.08);
      }
    });
    // rings: radii cluster at 0.75, 1.5, 2.25, 3.
    const r = sampleToy('rings', 4000, 2);
    for (let i = 0; i < 4000; i++) {
      const rad = Math.hypot(r[2 * i], r[2 * i + 1]);
      const nearest = Math.min(...[0.75, 1.5, 2.25, 3].map((c) => Math.abs(rad - c)));
      expect(nearest).toBeLessThan(0.45);
    }
    // checkerboard: points lie on dark squares: (floor(x/2) + floor(y/2)) even... in [-4,4]².
    const c = sampleToy('checkerboard', 4000, 3);
    let onParity = 0;
    for (let i = 0; i < 4000; i++) {
      const x = c[2 * i];
      const y = c[2 * i + 1];
      expect(Math.abs(x)).toBeLessThanOrEqual(4);
      expect(Math.abs(y)).toBeLessThanOrEqual(4);
      if ((((Math.floor(x / 2) + Math.floor(y / 2)) % 2) + 2) % 2 === 1) onParity++;
    }
    expect(onParity === 0 || onParity === 4000).toBe(true);
  });

  it('unknown name lists the valid ones', () => {
    expect(() => sampleToy('spiral', 10, 0)).toThrow(/unknown toy data set 'spiral'.*swissroll.*8gaussians.*2spirals/);
  });
});

describe('loadDataset', () => {
  it('toy: train / held / held2 are independent seeded draws', () => {
    const d = loadDataset('moons', { seed: 5, nTrain: 1000, nHeld: 300 });
    expect(d.dim).toBe(2);
    expect(d.kind).toBe('toy');
    expect(d.train.length).toBe(2000);
    expect(d.held.length).toBe(600);
    expect(d.held2.length).toBe(600);
    expect(d.held).not.toEqual(d.held2);
    expect(loadDataset('moons', { seed: 5, nTrain: 1000, nHeld: 300 }).held2).toEqual(d.held2);
    expect(loadDataset('moons', { seed: 6, nTrain: 1000, nHeld: 300 }).train).not.toEqual(d.train);
  });

  it('npy: deterministic disjoint split; errors name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-data-'));
    try {
      const N = 500;
      const D = 3;
      const a = new Float64Array(N * D);
      for (let i = 0; i < N; i++) for (let k = 0; k < D; k++) a[i * D + k] = i + k / 10; // row id in column 0
      const p = join(dir, 'pts.npy');
      writeFileSync(p, encodeNpy(a, [N, D]));
      const d = loadDataset(p, { seed: 1, nHeld: 40 });
      expect(d.dim).toBe(3);
      expect(d.kind).toBe('npy');
      expect(d.held.length).toBe(120);
      expect(d.held2.length).toBe(120);
      expect(d.train.length).toBe((N - 80) * D);
      const ids = (x: Float32Array) => Array.from({ length: x.length / D }, (_, i) => x[i * D]);
      const all = [...ids(d.train), ...ids(d.held), ...ids(d.held2)];
      expect(new Set(all).size).toBe(N);
      expect(loadDataset(p, { seed: 1, nHeld: 40 }).held).toEqual(d.held);
      expect(loadDataset(p, { seed: 2, nHeld: 40 }).held).not.toEqual(d.held);
      // rows stay rows
      expect(d.held[1]).toBeCloseTo(d.held[0] + 0.1, 3);

      const bad = join(dir, 'ints.npy');
      writeFileSync(bad, encodeNpy(new Int32Array(6), [3, 2]));
      expect(() => loadDataset(bad)).toThrow(new RegExp(`${bad}.*float32 or float64.*i4`));
      const rank3 = join(dir, 'r3.npy');
      writeFileSync(rank3, encodeNpy(new Float32Array(8), [2, 2, 2]));
      expect(() => loadDataset(rank3)).toThrow(new RegExp(`${rank3}.*2-D.*\\[2, 2, 2\\]`));
      const nan = join(dir, 'nan.npy');
      const v = new Float32Array(100).fill(1);
      v[37] = NaN;
      writeFileSync(nan, encodeNpy(v, [50, 2]));
      expect(() => loadDataset(nan)).toThrow(new RegExp(`${nan}.*non-finite.*row 18, column 1`));
      const junk = join(dir, 'junk.npy');
      writeFileSync(junk, 'hello world');
      expect(() => loadDataset(junk)).toThrow(new RegExp(`${junk}.*not a .npy file`));
      expect(() => loadDataset(join(dir, 'missing.npy'))).toThrow(/missing\.npy: no such/);
      expect(() => loadDataset('nonsense')).toThrow(/unknown data set 'nonsense'.*swissroll/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splitRows rejects impossible sizes', () => {
    expect(() => splitRows(new Float32Array(10), 2, { nHeld: 3 })).toThrow(/5 rows/);
  });
});

describe('IDX', () => {
  it('round-trips every dtype, raw and gzip', () => {
    const cases = [
      new Uint8Array([0, 1, 2, 255, 128, 7]),
      new Int8Array([-128, 0, 127, -1, 5, 6]),
      new Int16Array([-30000, 2, 3, 4, 5, 30000]),
      new Int32Array([-2e9, 2, 3, 4, 5, 2e9]),
      new Float32Array([0.5, -1.25, 3, 4, 5, 1e-7]),
      new Float64Array([Math.PI, -1, 2, 3, 4, 5]),
    ];
    for (const a of cases) {
      const bytes = encodeIdx(a, [2, 3]);
      const r = decodeIdx(bytes);
      expect(r.shape).toEqual([2, 3]);
      expect(r.data).toEqual(a);
      expect(decodeIdx(new Uint8Array(gzipSync(bytes))).data).toEqual(a);
    }
  });

  it('decodes hand-built MNIST-style files (big-endian header)', () => {
    // 2 images of 2×3, then 2 labels
    const img = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const lbl = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 9, 4]);
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-idx-'));
    try {
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(img));
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), lbl);
      const r = readIdx(join(dir, 'train-images-idx3-ubyte.gz'));
      expect(r.shape).toEqual([2, 2, 3]);
      expect([...r.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      const s = loadIdxImageDir(dir, 'train');
      expect([s.n, s.h, s.w]).toEqual([2, 2, 3]);
      expect([...s.labels]).toEqual([9, 4]);
      expect(() => decodeIdx(img.subarray(0, 20), 'short.idx')).toThrow(/short\.idx: truncated IDX data/);
      expect(() => decodeIdx(new Uint8Array([1, 2, 3, 4]), 'x.idx')).toThrow(/x\.idx: not an IDX file/);
      expect(() => loadIdxImageDir(dir, 'test')).toThrow(/t10k-images/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadFashionMnist names the path and the Debian package when absent', () => {
    expect(() => loadFashionMnist('/nonexistent/fmnist')).toThrow(/\/nonexistent\/fmnist.*dataset-fashion-mnist/);
  });

  it.skipIf(!existsSync(FASHION_MNIST_DIR))('reads the real Fashion-MNIST test split', () => {
    const t = loadFashionMnist(FASHION_MNIST_DIR, 'test');
    expect([t.n, t.h, t.w]).toEqual([10000, 28, 28]);
    expect(t.images.length).toBe(10000 * 784);
    expect(Math.max(...t.labels)).toBe(9);
    const counts = new Array(10).fill(0);
    for (const l of t.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });

  it.skipIf(!existsSync(FASHION_MNIST_DIR))('loadDataset(fashion-mnist): images as rows in [-1, 1], held-out from the test split', () => {
    const d = loadDataset('fashion-mnist', { seed: 1, nTrain: 500, nHeld: 200 });
    expect(d.kind).toBe('images');
    expect(d.dim).toBe(784);
    expect(d.shape).toEqual([1, 28, 28]);
    expect(d.train.length).toBe(500 * 784);
    expect(d.held.length).toBe(200 * 784);
    expect(d.held2.length).toBe(200 * 784);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d.train) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(-1);
    expect(hi).toBe(1);
    expect(d.held).not.toEqual(d.held2);
  });
});
