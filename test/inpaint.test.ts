// Inpainting (src/score/inpaint/): the projection inside runPlan at every step of ancestral, DDIM
// and RePaint chains against a float64 reference of the step (the fused update, then the known
// pixels replaced by the data noised to the step's level, noise from the CPU Philox reference under
// the run's key); the result's known pixels equal y exactly; the levels the plans name against the
// processes' marginals; RePaint's order of levels against the authors' get_schedule_jump (written
// out here from their code) and its one-jump forward noising against j single forward steps; masks;
// PNG reading; bad mask and image files give one-line errors naming the file.
import { describe, it, expect, beforeAll } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, rng, poisonPool, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import * as op from '../src/autograd/ops.js';
import { DdpmProcess, NcsnProcess } from '../src/score/processes/index.js';
import { ancestralPlan, ddimPlan, annealedPlan, makePlan, runPlan, type SamplerPlan } from '../src/score/sampling/index.js';
import { InpaintProjection, PROJECTION_STREAM, inpaint, inpaintPlan, repaintPlan, repaintPositions, forwardJump, makeMask, parseMaskSpec } from '../src/score/inpaint/index.js';
import { normalRef, u32Of } from '../src/tensor/cpu/random.js';
import { encodePng } from '../src/io/png.js';
import { decodePngGrey } from '../src/io/png_decode.js';
import { FileError } from '../src/gpu/errors.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});
const r = rng(TEST_SEED);

/** A stand-in network (the projection does not care what the model is): out = 0.5·x + 0.1·cond/1000. */
const net: NoiseConditionalNet = { forward: (x, c) => op.add(op.scale(x, 0.5), op.scale(c.shape.length === 2 && x.shape.length === 4 ? op.reshape(c, [c.shape[0], 1, 1, 1]) : c, 1e-4)) };
const netRef = (x: number, cond: number) => 0.5 * x + 1e-4 * cond;

/** One step of a one-op plan in float64 from the GPU's previous state: the update, then the projection. */
function stepRef(plan: SamplerPlan, k: number, xPrev: ArrayLike<number>, y: ArrayLike<number>, m: ArrayLike<number>, seed: number): Float64Array {
  const s = plan.steps[k], c = s.coef, n = xPrev.length;
  const z = normalRef(n, { seed, stream: 1, offset: 0, step: k + 1 });
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x0 = s.noise ? 0 : c.p * xPrev[i] + c.q * netRef(xPrev[i], Math.fround(s.cond)); // a forward-noising step has no model term
    if (plan.clip && !s.noise) x0 = Math.min(Math.max(x0, c.lo!), c.hi!);
    out[i] = c.a * xPrev[i] + c.b * x0 + c.c * z[i];
  }
  if (s.noise) return out;
  const zp = normalRef(n, { seed, stream: PROJECTION_STREAM, offset: 0, step: k + 1 });
  const l = s.level!;
  for (let i = 0; i < n; i++) if (m[i] >= 0.5) out[i] = Math.fround(l.mean) * y[i] + Math.fround(l.std) * zp[i];
  return out;
}

describe(`inpainting (seed ${TEST_SEED})`, () => {
  it('projects after every step as the float64 reference does (ancestral, DDIM η > 0, DDIM + RePaint), known pixels = y at the end', async () => {
    const shape = [1, 5, 7], nb = 3, per = 35;
    const T = 12 + Math.floor(r.next() * 20);
    const proc = new DdpmProcess('linear', T);
    const plans: SamplerPlan[] = [
      ancestralPlan(proc, { clip: true }),
      ddimPlan(proc, { steps: 7, eta: 0.3 + 0.7 * r.next(), clip: true }),
      repaintPlan(ddimPlan(proc, { steps: 8, eta: 1, clip: true }), proc, { jump: 2, resample: 3 }),
    ];
    for (const plan of plans) {
      poisonPool(d, nb * per * 4 + 256, 3);
      const seed = 1 + Math.floor(r.next() * 1e6);
      const y = r.uniform(nb * per, -1, 1);
      const frac = 0.2 + 0.6 * r.next();
      const m = Float32Array.from(r.uniform(nb * per, 0, 1), (u) => (u < frac ? 1 : 0));
      const hook = new InpaintProjection(d, y, m, [nb, ...shape]);
      const all = plan.steps.map((_, k) => k + 1);
      const res = await runPlan(d, net, plan, { n: nb, shape, seed, hook, snapshotAt: all });
      hook.dispose();
      expect(res.snapshots.length).toBe(plan.steps.length);
      // x₀ from the prior with the run's key (stream 0, clock step 0)
      let prev: ArrayLike<number> = Float64Array.from(normalRef(nb * per, { seed: u32Of(seed), stream: 0, offset: 0, step: 0 }), (v) => v * (plan.init.kind === 'normal' ? plan.init.std : NaN));
      let worst = 0;
      for (let k = 0; k < plan.steps.length; k++) {
        const ref = stepRef(plan, k, prev, y, m, u32Of(seed));
        const got = res.snapshots[k].samples;
        for (let i = 0; i < ref.length; i++) {
          const e = Number.isFinite(got[i]) ? Math.abs(got[i] - ref[i]) / Math.max(1, Math.abs(ref[i])) : Infinity;
          worst = Math.max(worst, e);
        }
        prev = got;
      }
      expect(worst, plan.name).toBeLessThan(5e-5);
      for (let i = 0; i < y.length; i++) if (m[i]) expect(res.samples[i], `${plan.name}: known pixel ${i}`).toBe(y[i]);
      expect(res.nfe).toBe(plan.steps.filter((s) => !s.noise).length);
    }
  });

  it('inpaint(): image-major completions, the known pixels exactly, one mask for all or one per image', async () => {
    const proc = new DdpmProcess('linear', 20);
    const shape = [1, 6, 5], per = 30, count = 2, k = 3;
    const images = r.uniform(count * per, -1, 1);
    const mask = makeMask({ kind: 'random', fraction: 0.5, seed: 3 }, 6, 5);
    const res = await inpaint(d, net, proc, shape, { sampler: 'ddim', steps: 5, eta: 1, images, mask, perImage: k, seed: 4, batch: 4 });
    expect(res.samples.length).toBe(count * k * per);
    expect(res.nfe).toBe(5);
    for (let row = 0; row < count * k; row++) {
      const i = Math.floor(row / k);
      for (let p = 0; p < per; p++) if (mask[p]) expect(res.samples[row * per + p]).toBe(images[i * per + p]);
    }
    // completions of one image differ where unknown (different noise per chain)
    let same = 0;
    for (let p = 0; p < per; p++) if (!mask[p] && res.samples[p] === res.samples[per + p]) same++;
    expect(same).toBe(0);
    await expect(inpaint(d, net, proc, shape, { sampler: 'heun', images, mask })).rejects.toThrow(/does not name the noise level/);
    await expect(inpaint(d, net, proc, shape, { sampler: 'ddim', images, mask: mask.subarray(1) })).rejects.toThrow(/the mask has 29 values/);
    // (dpmpp2m's default 20 steps on this 20-step grid: the spacing repeats an index, dropped as diffusers does)
    expect(() => inpaintPlan(proc, { sampler: 'dpmpp2m', repaint: { jump: 2, resample: 2 } })).toThrow(/^RePaint resampling \(--resample\) needs a sampler whose steps carry only x: ancestral or ddim; got 'dpmpp2m\(19\)'$/);
  });

  it('each step names the marginal it leaves x at', () => {
    const ddpm = new DdpmProcess('cosine', 40), ncsn = new NcsnProcess(20, 0.01, 15);
    const anc = ancestralPlan(ddpm);
    anc.steps.forEach((s) => expect(s.level).toEqual(s.index! > 0 ? ddpm.marginal(s.index! - 1) : { mean: 1, std: 0 }));
    const dd = ddimPlan(ddpm, { steps: 9, spacing: 'trailing' });
    dd.steps.forEach((s, k) => expect(s.level).toEqual(k + 1 < dd.steps.length ? ddpm.marginal(dd.steps[k + 1].index!) : { mean: 1, std: 0 }));
    const al = annealedPlan(ncsn, { stepsPerLevel: 3 });
    al.steps.slice(0, -1).forEach((s) => expect(s.level).toEqual(ncsn.marginal(s.index!)));
    expect(al.steps.at(-1)!.level).toEqual({ mean: 1, std: 0 });
    for (const name of ['em', 'pc', 'dpmpp2m']) {
      const p = makePlan(name, ddpm.schedule === 'cosine' ? new DdpmProcess('linear', 40) : ddpm, { steps: 10 });
      expect(p.steps.every((s) => s.level && s.level.std >= 0), name).toBe(true);
      expect(p.steps.at(-1)!.level).toEqual({ mean: 1, std: 0 });
      // the levels go down the chain
      const stds = p.steps.map((s) => s.level!.std);
      for (let i = 1; i < stds.length; i++) expect(stds[i], `${name} step ${i}`).toBeLessThanOrEqual(stds[i - 1] + 1e-12);
    }
  });
});

/** RePaint's schedule as the authors' code writes it (guided_diffusion/scheduler.py, get_schedule_jump), with n_sample = 1. */
function getScheduleJump(tT: number, jumpLength: number, jumpNSample: number, jump2Length = 1, jump2NSample = 1, startResampling = 100000000): number[] {
  const jumps: Record<number, number> = {};
  for (let j = 0; j < tT - jumpLength; j += jumpLength) jumps[j] = jumpNSample - 1;
  let jumps2: Record<number, number> = {};
  for (let j = 0; j < tT - jump2Length; j += jump2Length) jumps2[j] = jump2NSample - 1;
  let t = tT;
  const ts: number[] = [];
  while (t >= 1) {
    t = t - 1;
    ts.push(t);
    if ((jumps2[t] ?? 0) > 0 && t <= startResampling - jump2Length) {
      jumps2[t] = jumps2[t] - 1;
      for (let k = 0; k < jump2Length; k++) {
        t = t + 1;
        ts.push(t);
      }
    }
    if ((jumps[t] ?? 0) > 0 && t <= startResampling - jumpLength) {
      jumps[t] = jumps[t] - 1;
      for (let k = 0; k < jumpLength; k++) {
        t = t + 1;
        ts.push(t);
      }
      jumps2 = {};
      for (let j = 0; j < tT - jump2Length; j += jump2Length) jumps2[j] = jump2NSample - 1;
    }
  }
  ts.push(-1);
  return ts;
}

describe(`RePaint (seed ${TEST_SEED})`, () => {
  it('visits the levels in the order of the authors\' schedule, each go-back one jump', () => {
    const cases: [number, number, number][] = [[250, 10, 10], [50, 5, 2], [20, 1, 3], [7, 3, 2], [10, 4, 1]];
    for (let c = 0; c < 6; c++) {
      const S = 3 + Math.floor(r.next() * 60), j = 1 + Math.floor(r.next() * (S - 2));
      cases.push([S, j, 1 + Math.floor(r.next() * 4)]);
    }
    for (const [S, j, rr] of cases) {
      // their times: t = S − 1 the start … −1 clean; ours: positions p = S − 1 − t, runs of +1 in t merged
      const theirs = getScheduleJump(S, j, rr).map((t) => S - 1 - t);
      const merged: number[] = [theirs[0]];
      for (let i = 1; i < theirs.length; i++) {
        const up = theirs[i] < theirs[i - 1];
        if (up && merged.length >= 2 && merged.at(-1)! < merged.at(-2)!) merged[merged.length - 1] = theirs[i];
        else merged.push(theirs[i]);
      }
      const ours = repaintPositions(S, { jump: j, resample: rr });
      expect(ours, `S=${S} j=${j} r=${rr}`).toEqual(merged);
      const nfe = ours.slice(1).filter((p, i) => p === ours[i] + 1).length;
      expect(nfe).toBe(S + (rr - 1) * j * Math.ceil((S - j) / j));
    }
  });

  it('a jump back j steps is the j single forward steps of the chain composed', () => {
    const T = 30 + Math.floor(r.next() * 50);
    const proc = new DdpmProcess('linear', T);
    const plan = repaintPlan(ancestralPlan(proc), proc, { jump: 3 + Math.floor(r.next() * 4), resample: 2 });
    let checked = 0;
    plan.steps.forEach((s, k) => {
      if (!s.noise) return;
      // from the level the previous step left (index i) up to the level of index i + j: compose q(x_{t+1} | x_t)
      const lo = plan.steps[k - 1].level!, hi = s.level!;
      const iLo = plan.steps[k - 1].index! - 1, iHi = plan.steps[k + 1].index!;
      let a = 1, v = 0;
      for (let i = iLo + 1; i <= iHi; i++) {
        const f = proc.discretize(i);
        a *= f.a;
        v = f.a * f.a * v + f.g * f.g;
      }
      expect(Math.abs(s.coef.a - a) / a).toBeLessThan(1e-9);
      expect(Math.abs(s.coef.c - Math.sqrt(v)) / Math.sqrt(v)).toBeLessThan(1e-6);
      expect(forwardJump(lo, hi)).toEqual({ a: s.coef.a, c: s.coef.c });
      checked++;
    });
    expect(checked).toBeGreaterThan(0);
    expect(() => repaintPositions(10, { jump: 0, resample: 2 })).toThrow(/jump length must be a positive integer/);
    expect(() => repaintPlan(ancestralPlan(new DdpmProcess('linear', 5)), proc, { jump: 5, resample: 2 })).toThrow(/jump length 5 must be smaller than the sampler's 5 steps/);
  });
});

describe('masks and mask files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scoregpu-inpaint-'));
  const greyPng = (w: number, h: number, f: (x: number, y: number) => number) => {
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
    return encodePng(px, w, h, 3);
  };

  it('box, half, random and PNG masks (white = known)', () => {
    const box = makeMask({ kind: 'box', size: 0.5 }, 28, 28);
    expect(box.reduce((s, v) => s + (1 - v), 0)).toBe(14 * 14);
    expect(box[14 * 28 + 14]).toBe(0);
    expect(box[0]).toBe(1);
    const odd = makeMask({ kind: 'box', size: 0.4 }, 7, 9);
    expect(odd.reduce((s, v) => s + (1 - v), 0)).toBe(3 * 4);
    for (const side of ['left', 'right', 'top', 'bottom'] as const) {
      const m = makeMask({ kind: 'half', side }, 6, 8);
      expect(m.reduce((s, v) => s + v, 0), side).toBe(24);
      const hidden = side === 'left' ? m[0] : side === 'right' ? m[7] : side === 'top' ? m[0] : m[47];
      expect(hidden, side).toBe(0);
    }
    const rnd = makeMask({ kind: 'random', fraction: 0.3, seed: 9 }, 28, 28);
    expect(rnd).toEqual(makeMask({ kind: 'random', fraction: 0.3, seed: 9 }, 28, 28));
    const hiddenFrac = rnd.reduce((s, v) => s + (1 - v), 0) / 784;
    expect(Math.abs(hiddenFrac - 0.3)).toBeLessThan(0.06);
    const file = join(dir, 'mask.png');
    writeFileSync(file, greyPng(5, 4, (x) => (x < 2 ? 255 : 0)));
    const fm = makeMask({ kind: 'file', path: file }, 4, 5);
    expect(Array.from(fm.subarray(0, 5))).toEqual([1, 1, 0, 0, 0]);
    expect(Array.from(makeMask({ kind: 'file', path: file, invert: true }, 4, 5).subarray(0, 5))).toEqual([0, 0, 1, 1, 1]);
    expect(() => parseMaskSpec('circle')).toThrow(/unknown --mask 'circle'; valid: box, half, random/);
  });

  it('a mask or image file that is missing, not a PNG or of the wrong size is a one-line FileError naming it', () => {
    const wrong = join(dir, 'wrong.png'), notPng = join(dir, 'not.png'), missing = join(dir, 'missing.png');
    writeFileSync(wrong, greyPng(27, 28, () => 255));
    writeFileSync(notPng, 'hello');
    for (const [path, msg] of [[wrong, 'mask is 27×28, the model\'s images are 28×28'], [notPng, 'not a PNG file'], [missing, 'no such PNG file']]) {
      let err: unknown;
      try {
        makeMask({ kind: 'file', path }, 28, 28);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FileError);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toContain(msg);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('decodes RGBA (luma × alpha) and 1-bit grey PNGs of odd sizes to grey values', () => {
    const w = 5, h = 3;
    const vals = Array.from({ length: w * h * 4 }, () => Math.floor(r.next() * 256));
    const rgba = Uint8Array.from(vals);
    const g = decodePngGrey(encodePng(rgba, w, h, 4), 'rgba.png');
    expect([g.width, g.height]).toEqual([w, h]);
    for (let i = 0; i < w * h; i++) {
      const want = ((0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255) * (rgba[4 * i + 3] / 255);
      expect(Math.abs(g.data[i] - want)).toBeLessThan(1e-6);
    }
    // a 1-bit grey image written by hand (filter 0 rows): 0b10110000 → 1, 0, 1, 1, 0
    const bits = hand1bit([[1, 0, 1, 1, 0], [0, 1, 0, 0, 1]]);
    expect(Array.from(decodePngGrey(bits, 'bits.png').data)).toEqual([1, 0, 1, 1, 0, 0, 1, 0, 0, 1]);
  });
});

/** A 1-bit greyscale PNG (colour type 0) from rows of 0/1, through node:zlib. */
function hand1bit(rows: number[][]): Uint8Array {
  const { deflateSync } = process.getBuiltinModule('node:zlib') as typeof import('node:zlib');
  const w = rows[0].length, h = rows.length, stride = Math.ceil(w / 8);
  const raw = new Uint8Array((stride + 1) * h);
  rows.forEach((row, y) => row.forEach((v, x) => { if (v) raw[y * (stride + 1) + 1 + (x >> 3)] |= 0x80 >> (x & 7); }));
  const png = encodePng(new Uint8Array(w * h * 3), w, h, 3);
  // swap the IHDR's depth/colour and the IDAT of an RGB encoding for our own
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length), dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = png.slice(16, 29);
  ihdr[8] = 1;
  ihdr[9] = 0;
  const parts = [png.subarray(0, 8), chunk('IHDR', ihdr), chunk('IDAT', new Uint8Array(deflateSync(raw))), chunk('IEND', new Uint8Array(0))];
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((o, p) => (all.set(p, o), o + p.length), 0);
  return all;
}

function crc(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
