// The `scoregpu` command as a user runs it: info, the demo, bad input, and a .npy data set of
// any dimension through train → sample → eval.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';
import { rng } from '../kernels-tests/helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scoregpu CLI', () => {
  it('info prints the adapter and its limits', () => {
    const r = cli('info', '--json');
    expect(r.code, r.err).toBe(0);
    const info = JSON.parse(r.out);
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(info.features)).toBe(true);
  });

  it('demo checks a matmul and a conv2d against the CPU', () => {
    const r = cli('demo');
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.out).toMatch(/matmul .* ok/);
    expect(r.out).toMatch(/conv2d .* ok/);
  });

  it('names the valid choices for an unknown data set, loss, sampler or option', () => {
    const d = cli('train', '--data', 'spirals3', '--steps', '1');
    expect(d.code).not.toBe(0);
    expect(d.err).toMatch(/spirals3/);
    expect(d.err).toMatch(/swissroll/);
    const l = cli('train', '--loss', 'sm', '--steps', '1');
    expect(l.err).toMatch(/unknown loss 'sm'; valid: esm, dsm, ssm, ssmvr, deen, ncsn/);
    const o = cli('train', '--stepz', '3');
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/unknown option --stepz/);
    const s = cli('sample', '--run', '/nonexistent-run');
    expect(s.err).toMatch(/no checkpoint/);
    const u = cli('frobnicate');
    expect(u.err).toMatch(/unknown command 'frobnicate'; valid: info/);
  });

  it('trains, samples and evaluates on a 3-D .npy data set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-cli-'));
    const r = rng(5);
    const n = 3000;
    // a tilted 3-D Gaussian blob pair
    const z = r.normal(n * 3);
    const data = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const c = i % 2 ? 1.5 : -1.5;
      data[i * 3] = c + 0.4 * z[i * 3];
      data[i * 3 + 1] = 0.5 * z[i * 3 + 1] + 0.3 * z[i * 3];
      data[i * 3 + 2] = 0.6 * z[i * 3 + 2];
    }
    const file = join(dir, 'blobs.npy');
    writeFileSync(file, encodeNpy(data, [n, 3]));
    const run = join(dir, 'run');
    const t = cli('train', '--data', file, '--loss', 'dsm', '--sigma', '0.3', '--steps', '300', '--hidden', '32,32', '--batch', '128', '--out', run);
    expect(t.code, t.err).toBe(0);
    expect(existsSync(join(run, 'checkpoint.safetensors'))).toBe(true);
    expect(existsSync(join(run, 'loss.png'))).toBe(true);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(cfg.dim).toBe(3);
    const s = cli('sample', '--run', run, '--n', '400', '--steps', '200', '--step-size', '0.01');
    expect(s.code, s.err).toBe(0);
    const samples = decodeNpy(new Uint8Array(readFileSync(join(run, 'samples.npy'))));
    expect(samples.shape).toEqual([400, 3]);
    expect(Array.from(samples.data as Float32Array).every(Number.isFinite)).toBe(true);
    const e = cli('eval', '--run', run, '--n', '300');
    expect(e.code, e.err).toBe(0);
    const m = JSON.parse(e.out);
    expect(m.energyDistance).toBeGreaterThan(0);
    expect(m.floor.energyDistance).toBeGreaterThan(0);
    // fresh chains per sampler seed: each reported, and their mean
    const es = cli('eval', '--run', run, '--n', '300', '--seeds', '4,5');
    expect(es.code, es.err).toBe(0);
    const ms = JSON.parse(es.out);
    expect(ms.seeds.map((r: any) => r.seed)).toEqual([4, 5]);
    expect(ms.seeds[0].energyDistance).not.toBe(ms.seeds[1].energyDistance);
    expect(ms.seedMeanRatio).toBeCloseTo((ms.seeds[0].ratio + ms.seeds[1].ratio) / 2, 10);
    // the sampler flags: eval draws fresh samples with them, exactly as `sample` does with the same
    // flags, and leaves RUN/samples.npy alone; with --samples FILE they cannot apply: one line says so
    const kept = readFileSync(join(run, 'samples.npy'));
    const drawn = join(dir, 'drawn.npy');
    const sd = cli('sample', '--run', run, '--n', '300', '--steps', '40', '--step-size', '0.02', '--seed', '9', '--out', drawn);
    expect(sd.code, sd.err).toBe(0);
    const ef = cli('eval', '--run', run, '--n', '300', '--samples', drawn);
    expect(ef.code, ef.err).toBe(0);
    const eg = cli('eval', '--run', run, '--n', '300', '--steps', '40', '--step-size', '0.02', '--seed', '9');
    expect(eg.code, eg.err).toBe(0);
    const mg = JSON.parse(eg.out);
    expect(mg.energyDistance).toBe(JSON.parse(ef.out).energyDistance);
    expect(mg.energyDistance).not.toBe(m.energyDistance);
    expect(mg.samples).toMatch(/^drawn \(--steps --step-size --seed\)$/);
    expect(readFileSync(join(run, 'samples.npy')).equals(kept)).toBe(true);
    const both = cli('eval', '--run', run, '--samples', drawn, '--steps', '40');
    expect(both.code).not.toBe(0);
    // (Node's spawn gives Dawn a pipe its start-up warnings reach: test/bad_input.test.ts keeps them off)
    expect(both.err.split('\n').filter((l) => l.trim() && !/^Warning: maxDynamic/.test(l)), both.err).toHaveLength(1);
    expect(both.err).toMatch(/--steps says how to draw samples, and --samples .*drawn\.npy is scored as it is/);
    expect(cli('sample', '--run', run, '--n', '10', '--init', 'gaussian').err).toMatch(/unknown init 'gaussian'; valid: uniform, normal/);
    const us = cli('sample', '--run', run, '--sampler', 'hmc');
    expect(us.err).toMatch(/unknown sampler 'hmc'; valid: langevin, annealed/);
    const an = cli('sample', '--run', run, '--sampler', 'annealed', '--n', '10');
    expect(an.err).toMatch(/annealed.*noise-conditional/);
    // a bad .npy names the file
    const bad = join(dir, 'bad.npy');
    writeFileSync(bad, encodeNpy(new Float32Array(12), [2, 3, 2]));
    const b = cli('train', '--data', bad, '--steps', '1', '--out', join(dir, 'bad'));
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/bad\.npy/);
  });
});
