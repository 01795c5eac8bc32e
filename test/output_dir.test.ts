// `scoregpu eval` and `sample` on an image run write beside a training run's checkpoint, but never into a model
// folder (models/NAME, shipped in the repository): those evaluations go to runs/eval/NAME; --out wins.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOutputDir } from '../src/cli/output_dir.js';

describe('eval and sample output folder', () => {
  it('a training run keeps its evaluations; a model folder sends them to runs/eval/NAME; --out overrides', () => {
    const root = mkdtempSync(join(tmpdir(), 'evaldir-'));
    try {
      const run = join(root, 'my-run'), model = join(root, 'models', 'fmnist-x');
      mkdirSync(run);
      mkdirSync(model, { recursive: true });
      writeFileSync(join(run, 'checkpoint.safetensors'), '');
      writeFileSync(join(model, 'model.safetensors'), '');
      expect(runOutputDir({ run })).toBe(run);
      expect(runOutputDir({ run: model })).toBe(join('runs', 'eval', 'fmnist-x'));
      expect(runOutputDir({ run: model + '/' })).toBe(join('runs', 'eval', 'fmnist-x'));
      expect(runOutputDir({ run: model, out: join(root, 'elsewhere') })).toBe(join(root, 'elsewhere'));
      expect(runOutputDir({ run, out: join(root, 'o2') })).toBe(join(root, 'o2'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
