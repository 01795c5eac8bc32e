// `scoregpu train-classifier` and `sample --class K --guidance S --classifier DIR` as a user runs
// them on the shipped DDPM model: a few training steps write a classifier run (config, checkpoint,
// loss log, accuracy on noised test images), --resume continues it, a guided DDIM chain writes a
// grid, export makes a model folder of it that `sample --class K` finds beside its run, and flags that
// do not go together are one-line errors naming the flag.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../src/io/fs.js';
import { FASHION_MNIST_DIR } from '../src/data/idx.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DDPM = 'models/fmnist-ddpm-small';
const NCSN = 'models/fmnist-ncsn-small';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The command's own error lines (Dawn may add its warnings to stderr). */
const ownLines = (err: string) => err.split('\n').filter((l) => l.startsWith('scoregpu'));

const haveData = existsSync(FASHION_MNIST_DIR);

describe.skipIf(!haveData)('train-classifier and classifier guidance from the CLI', () => {
  let dir = '';
  beforeAll(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'scoregpu-clf-')), 'clf');
  });

  it('trains a few steps: config, checkpoint, loss log, accuracy per noise level; --resume continues', () => {
    const r = cli('train-classifier', '--run', DDPM, '--out', dir, '--steps', '4', '--batch', '8', '--log-every', '2', '--checkpoint-every', '2', '--eval-images', '24');
    expect(r.code, r.err).toBe(0);
    for (const f of ['config.json', 'checkpoint.safetensors', 'loss.csv', 'accuracy.json']) expect(existsSync(join(dir, f)), f).toBe(true);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg.kind).toBe('noise-classifier');
    expect(cfg.process).toEqual(JSON.parse(readFileSync(join(DDPM, 'config.json'), 'utf8')).process);
    const acc = JSON.parse(readFileSync(join(dir, 'accuracy.json'), 'utf8'));
    expect(acc.levels.map((l: { index: number }) => l.index)).toEqual([0, 50, 100, 250, 500, 749, 999]);
    for (const l of acc.levels) {
      expect(l.n).toBe(24);
      expect(l.accuracy).toBeGreaterThanOrEqual(0);
      expect(l.accuracy).toBeLessThanOrEqual(1);
    }
    expect(r.out).toMatch(/test accuracy .*i=0 \(σ 0\.010\): \d+\.\d %/);
    const res = cli('train-classifier', '--run', DDPM, '--out', dir, '--steps', '6', '--batch', '8', '--log-every', '2', '--checkpoint-every', '2', '--eval-images', '0', '--resume');
    expect(res.code, res.err).toBe(0);
    expect(res.err).toMatch(/resuming at step 4/);
    expect(readSafetensors(join(dir, 'checkpoint.safetensors')).metadata.step).toBe('6');
    expect(readFileSync(join(dir, 'loss.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[0]))).toEqual([2, 4, 6]);
  }, 300_000);

  it('samples a class with classifier guidance (DDIM, 2 steps) into a captioned grid', () => {
    const out = join(dirname(dir), 'guided.png');
    const r = cli('sample', '--run', DDPM, '--classifier', dir, '--class', 'sandal', '--guidance', '2', '--sampler', 'ddim', '--steps', '2', '--n', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.out).toMatch(/2 images/);
  }, 300_000);

  it('export writes a classifier model folder (weights, config, logs; no checkpoint) that guides, and is the default beside its run', () => {
    const root = dirname(dir);
    const model = join(root, 'm'), exported = join(root, 'm-classifier');
    const e = cli('export', '--run', dir, '--out', exported);
    expect(e.code, e.err).toBe(0);
    for (const f of ['model.safetensors', 'config.json', 'loss.csv', 'accuracy.json']) expect(existsSync(join(exported, f)), f).toBe(true);
    expect(existsSync(join(exported, 'checkpoint.safetensors'))).toBe(false);
    const st = readSafetensors(join(exported, 'model.safetensors'));
    expect(Object.keys(st.tensors).some((k) => k.startsWith('adam.') || k.startsWith('ema.'))).toBe(false);
    expect(JSON.parse(st.metadata.config).kind).toBe('noise-classifier');
    // a model folder with the classifier beside it: --class alone guides with it
    mkdirSync(model);
    for (const f of ['model.safetensors', 'config.json']) copyFileSync(join(DDPM, f), join(model, f));
    const out = join(root, 'auto.png');
    const r = cli('sample', '--run', model, '--class', 'sandal', '--sampler', 'ddim', '--steps', '2', '--n', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`classifier guidance by ${exported}`);
    expect(existsSync(out)).toBe(true);
  }, 300_000);

  it('one-line errors for flags that do not go together', () => {
    const cases: [string[], RegExp][] = [
      [['sample', '--run', DDPM, '--classifier', dir, '--class', '11'], /class 11/],
      [['sample', '--run', DDPM, '--classifier', dir, '--class', 'sock'], /unknown class 'sock'/],
      [['sample', '--run', NCSN, '--class', '3', '--guidance', '2'], /--guidance needs --classifier.*none at models\/fmnist-ncsn-small-classifier/],
      [['sample', '--run', NCSN, '--class', '3'], /--class on an unconditional run needs --classifier/],
      [['sample', '--run', DDPM, '--classifier', dir], /--classifier needs --class/],
      [['sample', '--run', DDPM, '--classifier', DDPM, '--class', '3'], /not a classifier run|not a noise-conditional classifier/],
      [['sample', '--run', NCSN, '--classifier', dir, '--class', '3'], /trained for the noise process/],
      [['train-classifier', '--out', join(dirname(dir), 'x')], /--run DIR .* or --process NAME is required/],
      [['train-classifier', '--run', join(dirname(dir), 'nowhere')], /no such run directory/],
    ];
    for (const [args, want] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      const lines = ownLines(r.err);
      expect(lines.length, `${args.join(' ')}: ${r.err}`).toBe(1);
      expect(lines[0], args.join(' ')).toMatch(want);
    }
  }, 300_000);
});
