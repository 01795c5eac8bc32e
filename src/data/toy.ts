// Seeded 2-D toy distributions of the score-matching / flow literature. The shapes and scales follow
// the generators FFJORD's `toy_data.py` made standard (also used by sliced score matching and many
// score-SDE toy repos): points lie roughly in [-4, 4]², each coordinate has std of order 1–2.
// Differences from those generators: every sample here is i.i.d. (the reference 'rings' places
// points on a fixed linspace; here angles are random), so two draws with different seeds are two
// independent samples of the same distribution — what the metric noise floor needs.

import { Rng } from './rng.js';

export const TOY_SETS = ['swissroll', '8gaussians', 'moons', 'checkerboard', 'rings', 'pinwheel', '2spirals'] as const;
export type ToyName = (typeof TOY_SETS)[number];

export function isToyName(name: string): name is ToyName {
  return (TOY_SETS as readonly string[]).includes(name);
}

type Gen = (r: Rng, out: Float32Array, i: number) => void;

const SQ2 = Math.SQRT1_2;
const EIGHT = [
  [1, 0], [-1, 0], [0, 1], [0, -1], [SQ2, SQ2], [SQ2, -SQ2], [-SQ2, SQ2], [-SQ2, -SQ2],
];
/** 8gaussians: the circle's radius, each Gaussian's std, and the divisor of both (FFJORD's 1.414). */
const EIGHT_RADIUS = 4, EIGHT_STD = 0.5, EIGHT_DIV = 1.414;

/** One component of a Gaussian mixture with axis-aligned covariance: weight, centre, std per axis. */
export interface ToyMode {
  w: number;
  c: number[];
  sd: number[];
}

/** The built-in 8gaussians as the mixture it draws from (for mode-weight metrics), counter-clockwise from +x. */
export function eightGaussiansModes(): ToyMode[] {
  const ccw = [...EIGHT].sort((a, b) => ((Math.atan2(a[1], a[0]) + 2 * Math.PI) % (2 * Math.PI)) - ((Math.atan2(b[1], b[0]) + 2 * Math.PI) % (2 * Math.PI)));
  return ccw.map((c) => ({ w: 1 / 8, c: c.map((v) => (EIGHT_RADIUS * v) / EIGHT_DIV), sd: [EIGHT_STD / EIGHT_DIV, EIGHT_STD / EIGHT_DIV] }));
}

const GENS: Record<ToyName, Gen> = {
  // sklearn make_swiss_roll(noise=1.0), columns (x, z), divided by 5.
  swissroll(r, o, i) {
    const t = 1.5 * Math.PI * (1 + 2 * r.uniform());
    o[2 * i] = (t * Math.cos(t) + r.normal()) / 5;
    o[2 * i + 1] = (t * Math.sin(t) + r.normal()) / 5;
  },
  // Mixture of 8 Gaussians (std 0.5) on a circle of radius 4, divided by 1.414.
  '8gaussians'(r, o, i) {
    const c = EIGHT[r.int(8)];
    o[2 * i] = (EIGHT_RADIUS * c[0] + EIGHT_STD * r.normal()) / EIGHT_DIV;
    o[2 * i + 1] = (EIGHT_RADIUS * c[1] + EIGHT_STD * r.normal()) / EIGHT_DIV;
  },
  // sklearn make_moons(noise=0.1), scaled by 2 and shifted by (-1, -0.2).
  moons(r, o, i) {
    const t = Math.PI * r.uniform();
    let x: number;
    let y: number;
    if (r.uniform() < 0.5) {
      x = Math.cos(t);
      y = Math.sin(t);
    } else {
      x = 1 - Math.cos(t);
      y = 1 - Math.sin(t) - 0.5;
    }
    o[2 * i] = (x + 0.1 * r.normal()) * 2 - 1;
    o[2 * i + 1] = (y + 0.1 * r.normal()) * 2 - 0.2;
  },
  // 4×4 checkerboard on [-4, 4]², uniform on the 8 dark squares.
  checkerboard(r, o, i) {
    const x1 = r.uniform() * 4 - 2;
    const x2 = r.uniform() - 2 * r.int(2) + (((Math.floor(x1) % 2) + 2) % 2);
    o[2 * i] = 2 * x1;
    o[2 * i + 1] = 2 * x2;
  },
  // Four concentric circles of radius 3, 2.25, 1.5, 0.75 (equal mass), noise std 0.08.
  rings(r, o, i) {
    const rad = 0.75 * (1 + r.int(4));
    const a = 2 * Math.PI * r.uniform();
    o[2 * i] = rad * Math.cos(a) + 0.08 * r.normal();
    o[2 * i + 1] = rad * Math.sin(a) + 0.08 * r.normal();
  },
  // 5-armed pinwheel: radial std 0.3, tangential std 0.1, rate 0.25, scaled by 2.
  pinwheel(r, o, i) {
    const k = r.int(5);
    const f0 = 0.3 * r.normal() + 1;
    const f1 = 0.1 * r.normal();
    const ang = (2 * Math.PI * k) / 5 + 0.25 * Math.exp(f0);
    const c = Math.cos(ang);
    const s = Math.sin(ang);
    // features · [[c, -s], [s, c]]  (row vector times rotation, as the reference einsum)
    o[2 * i] = 2 * (f0 * c + f1 * s);
    o[2 * i + 1] = 2 * (-f0 * s + f1 * c);
  },
  // Two interleaved spirals (540°), divided by 3, noise std 0.1.
  '2spirals'(r, o, i) {
    const n = Math.sqrt(r.uniform()) * 540 * (2 * Math.PI) / 360;
    let x = -Math.cos(n) * n + r.uniform() * 0.5;
    let y = Math.sin(n) * n + r.uniform() * 0.5;
    if (r.uniform() < 0.5) {
      x = -x;
      y = -y;
    }
    o[2 * i] = x / 3 + 0.1 * r.normal();
    o[2 * i + 1] = y / 3 + 0.1 * r.normal();
  },
};

/** n i.i.d. points of a toy set, row-major [n, 2]. Same (name, n, seed) → same bytes. */
export function sampleToy(name: string, n: number, seed: number): Float32Array {
  if (!isToyName(name)) {
    throw new Error(`unknown toy data set '${name}'; valid: ${TOY_SETS.join(', ')}`);
  }
  if (!Number.isInteger(n) || n < 0) throw new Error(`sampleToy: n must be a non-negative integer, got ${n}`);
  const out = new Float32Array(2 * n);
  const gen = GENS[name];
  const r = new Rng(seed);
  for (let i = 0; i < n; i++) gen(r, out, i);
  return out;
}
