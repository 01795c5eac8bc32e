// The x̂₀ previews of sampleImages (src/score/sampling/draw.ts) read the model's output at the level
// the step's network call actually sees: the step's noise index (DDIM, DPM-Solver++, ancestral) or
// the step's own input level where it has none (PC and EM at time t, EDM's Heun at σ̂ and σ_{i+1}).
// With data that is one point x₀*, the exact ε at x = m·x₀* + s·ε is (x − m·x₀*)/s at every level,
// so every preview of every sampler must give back x₀* itself; a preview taken at any other level
// (as the earlier `marginal(index ?? 0)` did for steps without an index) does not.
import { describe, it, expect } from 'vitest';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { SdeGrid, VpSde, SubVpSde, VP_TIME_SCALE, type Sde } from '../src/score/sde/index.js';
import { sampleImages } from '../src/score/sampling/draw.js';
import type { NoiseConditionalNet } from '../src/score/losses.js';

const r = rng(TEST_SEED);

/** The exact ε-network of the point mass at x₀* under a VP-type SDE conditioned on 999·t: ε = (x − m(t)·x₀*)/s(t). */
function pointMassEps(sde: Sde, x0: Tensor): NoiseConditionalNet {
  return {
    forward: (x, cond) => {
      const B = x.shape[0];
      const c = sde.columns(op.scale(cond, 1 / VP_TIME_SCALE));
      const col = (v: Tensor) => op.expand(op.reshape(v, [B, 1, 1, 1]), x.shape);
      return op.div(op.sub(x, op.mul(col(c.mean), op.expand(x0, x.shape))), col(c.std));
    },
  };
}

describe(`x̂₀ previews at the level each step's network call reads (seed ${TEST_SEED})`, () => {
  const shape = [1, 3, 5];
  for (const sde of [new VpSde(), new SubVpSde()]) {
    it(`${sde.name}: every preview of pc, em, heun, dpmpp2m and ddim is the point x₀* the data is`, async () => {
      const d = await device();
      const star = r.uniform(15, -0.9, 0.9);
      const x0 = Tensor.fromArray(d, star, [1, ...shape]).keep();
      const proc = new SdeGrid(sde);
      const net = pointMassEps(sde, x0);
      for (const [sampler, steps] of [['pc', 25], ['em', 25], ['heun', 4], ['dpmpp2m', 6], ['ddim', 5]] as const) {
        let seen = 0, worst = 0, at = 0;
        await sampleImages(d, net, proc, shape, {
          sampler, steps, n: 3, seed: 7, batch: 3, clip: false,
          preview: {
            every: 1,
            onPreview: (p) => {
              seen++;
              p.x0.forEach((v, i) => {
                const e = Math.abs(v - star[i % star.length]);
                if (!(e <= worst)) [worst, at] = [e, p.step];
              });
            },
          },
        });
        expect(seen, `${sampler}: a preview after every step`).toBeGreaterThan(steps - 1);
        expect(worst, `${sampler}: |x̂₀ − x₀*| at step ${at}`).toBeLessThan(2e-3);
      }
      x0.dispose();
    }, 120_000);
  }
});
