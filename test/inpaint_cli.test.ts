// `scoregpu inpaint` as a user runs it, on the shipped DDPM model: a short DDIM + RePaint run writes
// the grid and the completions (.npy) whose known pixels are the test image's exactly; a mask or an
// image PNG of the wrong size, or not a PNG, ends the command with one line naming the file.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNpy } from '../src/io/npy.js';
import { encodePng } from '../src/io/png.js';
import { loadFashionMnist } from '../src/data/idx.js';
import { makeMask } from '../src/score/inpaint/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = 'models/fmnist-ddpm-small';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scoregpu inpaint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scoregpu-inpaint-cli-'));

  it('writes the grid and completions whose known pixels are the test image exactly (DDIM-4 + RePaint j=1, r=2)', () => {
    const out = join(dir, 'grid.png');
    const r = cli('inpaint', '--run', MODEL, '--image', 'test:3,11', '--mask', 'half', '--side', 'right', '--n', '2', '--steps', '4', '--resample', '2', '--jump', '1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/4 completions of 2 images .* \(7 network evaluations each\)/);
    expect(existsSync(out)).toBe(true);
    const npy = decodeNpy(new Uint8Array(readFileSync(join(dir, 'grid.npy'))));
    expect(npy.shape).toEqual([4, 1, 28, 28]);
    const test = loadFashionMnist(undefined, 'test');
    const mask = makeMask({ kind: 'half', side: 'right' }, 28, 28);
    let known = 0;
    for (let row = 0; row < 4; row++) {
      const img = [3, 11][row >> 1];
      for (let p = 0; p < 784; p++) {
        if (!mask[p]) continue;
        known++;
        const y = Math.fround(Math.fround(test.images[img * 784 + p] * (1 / 255)) * 2 - 1);
        expect(npy.data[row * 784 + p]).toBe(y);
      }
    }
    expect(known).toBe(4 * 392);
  });

  it('a mask or image file of the wrong size, or not a PNG, is one line naming the file', () => {
    const small = join(dir, 'small.png'), junk = join(dir, 'junk.png');
    writeFileSync(small, encodePng(new Uint8Array(20 * 28 * 3).fill(255), 20, 28, 3));
    writeFileSync(junk, 'not a png');
    for (const [flag, file, msg] of [['--mask', small, 'mask is 20×28'], ['--mask', junk, 'not a PNG file'], ['--image', small, 'image is 20×28']]) {
      const r = cli('inpaint', '--run', MODEL, flag, file, '--steps', '2', '--n', '1', '--out', join(dir, 'x.png'));
      expect(r.code, r.err).toBe(1);
      const lines = r.err.trim().split('\n').filter((l) => !/^Warning:/.test(l));
      expect(lines.length, r.err).toBe(1);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toContain(msg);
    }
    const b = cli('inpaint', '--run', MODEL, '--sampler', 'dpmpp2m', '--resample', '3', '--out', join(dir, 'y.png'));
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/RePaint resampling \(--resample\) needs a sampler whose steps carry only x: ancestral or ddim/);
  });
});
