// The image pipeline end to end at a tiny size, on images nobody tuned for (8×8, made up here):
// a run killed half way and resumed ends bit for bit where an uninterrupted run ends; the CLI trains,
// samples a grid and an .npy, and refuses a sampler the process does not allow.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';
import { rng, device, TEST_SEED } from '../kernels-tests/helpers.js';
import { trainImage, loadImageRun } from '../src/train/image.js';
import { imageConfig } from '../src/train/image_recipes.js';
import { loadImageSet } from '../src/data/images.js';
import { readSafetensors } from '../src/io/fs.js';
import type { Device } from '../src/gpu/device.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TINY = { base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: false };

/** n made-up 8×8 images: a bright square of random size and place on a dark ground, as bytes. */
function blobs(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n * 64);
  for (let k = 0; k < n; k++) {
    const [s, x0, y0] = r.uniform(3, 0, 1);
    const size = 2 + Math.floor(s * 4), x = Math.floor(x0 * (8 - size)), y = Math.floor(y0 * (8 - size));
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) out[k * 64 + i * 8 + j] = i >= y && i < y + size && j >= x && j < x + size ? 230 : 20;
  }
  return out;
}

let d: Device;
let dir: string;
let npy: string;
beforeAll(async () => {
  d = await device();
  dir = mkdtempSync(join(tmpdir(), 'scoregpu-img-'));
  npy = join(dir, 'blobs.npy');
  writeFileSync(npy, encodeNpy(blobs(300, TEST_SEED), [300, 8, 8]));
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 600_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe(`image runs (seed ${TEST_SEED})`, () => {
  it('600 steps straight and 300 + resume + 300 end with bit-identical weights, EMA and Adam moments', async () => {
    const set = loadImageSet(npy);
    expect(set.shape).toEqual([1, 8, 8]);
    const cfg = imageConfig({ data: npy, process: 'ddpm', unet: TINY, steps: 600, batchSize: 8, seed: TEST_SEED % 1000 });
    const a = join(dir, 'straight'), b = join(dir, 'resumed');
    const r1 = await trainImage(d, cfg, { out: a, set, checkpointEvery: 300, logEvery: 50 });
    expect(r1.trainer.step).toBe(600);
    r1.trainer.dispose();
    const h = await trainImage(d, cfg, { out: b, set, checkpointEvery: 300, logEvery: 50, until: 300 });
    expect(h.trainer.step).toBe(300);
    h.trainer.dispose();
    const r2 = await trainImage(d, cfg, { out: b, set, resume: true, checkpointEvery: 300, logEvery: 50 });
    expect(r2.trainer.step).toBe(600);
    r2.trainer.dispose();
    const A = readSafetensors(join(a, 'checkpoint.safetensors')), B = readSafetensors(join(b, 'checkpoint.safetensors'));
    const names = Object.keys(A.tensors);
    expect(names.some((n) => n.startsWith('ema.')) && names.some((n) => n.startsWith('adam.v.'))).toBe(true);
    expect(Object.keys(B.tensors).sort()).toEqual(names.sort());
    for (const n of names) expect(Buffer.from((B.tensors[n].data as Float32Array).buffer).equals(Buffer.from((A.tensors[n].data as Float32Array).buffer)), n).toBe(true);
    expect(B.metadata.step).toBe('600');
    // training moved the weights and lowered the loss
    const first = r1.lossHistory[0][1], last = r1.lossHistory[r1.lossHistory.length - 1][1];
    expect(last).toBeLessThan(first * 0.7);
    // PyTorch layout: dense weights are [out, in]; GroupNorm's γ is `weight`
    const emb = A.tensors['params.embed0.weight'];
    expect(emb.shape).toEqual([32, 8]);
    expect(names).toContain('params.down0.res0.norm1.weight');
    // loading for sampling takes the EMA weights
    const run = loadImageRun(d, a);
    expect(run.weights).toBe('ema');
    expect(run.step).toBe(600);
  }, 900_000);

  it('the CLI trains a U-Net on an image .npy, samples a grid and an .npy, and refuses annealed Langevin for DDPM', () => {
    const out = join(dir, 'cli');
    const t = cli('train', '--data', npy, '--model', 'unet', '--steps', '30', '--batch', '8', '--out', out, '--log-every', '10', '--sample-every', '1000');
    expect(t.code, t.err + t.out).toBe(0);
    expect(t.out).toMatch(/30 steps, [\d.]+ img\/s, \d+ dispatches and 1 submit per step/);
    for (const f of ['checkpoint.safetensors', 'config.json', 'loss.csv', 'loss.png']) expect(existsSync(join(out, f)), f).toBe(true);
    const g = cli('sample', '--run', out, '--sampler', 'ddim', '--steps', '10', '--n', '12', '--out', join(out, 'grid.png'));
    expect(g.code, g.err + g.out).toBe(0);
    expect(readFileSync(join(out, 'grid.png')).subarray(1, 4).toString()).toBe('PNG');
    const s = cli('sample', '--run', out, '--sampler', 'ancestral', '--n', '5', '--out', join(out, 's.npy'));
    expect(s.code, s.err + s.out).toBe(0);
    const arr = decodeNpy(new Uint8Array(readFileSync(join(out, 's.npy'))), 's.npy');
    expect(arr.shape).toEqual([5, 1, 8, 8]);
    expect(Array.from(arr.data as Float32Array).every(Number.isFinite)).toBe(true);
    // …with its grid beside it, as the toy path writes its picture
    expect(readFileSync(join(out, 's.png')).subarray(1, 4).toString()).toBe('PNG');
    // a released model folder (EMA weights only) samples exactly as the run it came from
    const model = join(dir, 'model');
    const x = cli('export', '--run', out, '--out', model);
    expect(x.code, x.err + x.out).toBe(0);
    expect(existsSync(join(model, 'model.safetensors')) && existsSync(join(model, 'config.json'))).toBe(true);
    expect(Object.keys(readSafetensors(join(model, 'model.safetensors')).tensors).every((k) => !/^(params|ema|adam)\./.test(k))).toBe(true);
    const fromModel = cli('sample', '--run', model, '--sampler', 'ddim', '--steps', '5', '--n', '3', '--seed', '7', '--out', join(out, 'm.npy'));
    const fromRun = cli('sample', '--run', out, '--sampler', 'ddim', '--steps', '5', '--n', '3', '--seed', '7', '--out', join(out, 'r.npy'));
    expect(fromModel.code, fromModel.err).toBe(0);
    expect(fromRun.code, fromRun.err).toBe(0);
    expect(readFileSync(join(out, 'm.npy')).equals(readFileSync(join(out, 'r.npy')))).toBe(true);
    const bad = cli('sample', '--run', out, '--sampler', 'annealed', '--n', '4');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/annealed.*variance-exploding.*ddpm/);
    expect(bad.err).not.toMatch(/\n\s+at /); // one line, no stack trace
  }, 900_000);
});
