// Pictures of a toy run: samples over data, the learned score field, the energy model's density,
// the loss curve.
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import * as op from '../autograd/ops.js';
import { writeFileAtomic } from '../io/fs.js';
import { scatterPlot, scoreFieldPlot, densityPlot, lossCurvePlot } from '../io/plots.js';
import type { ToyModel } from '../nn/mlp.js';
import type { ToyConfig } from '../train/toy_recipes.js';
import { sigmasOf } from '../train/toy_recipes.js';

const LIM: [number, number] = [-4.5, 4.5];

function noiseLevel(device: Device, cfg: ToyConfig, n: number): Tensor | undefined {
  if (cfg.loss !== 'ncsn') return undefined;
  const s = sigmasOf(cfg)[cfg.levels - 1];
  return Tensor.constant(device, `sigma-col-${n}-${s}`, new Float32Array(n).fill(s), [n, 1]);
}

export function writeSamplesPng(path: string, samples: Float32Array, data: Float32Array, title: string): void {
  writeFileAtomic(path, scatterPlot(
    [
      { points: data, color: '#9ab', label: 'data' },
      { points: samples, color: '#d62728', label: 'samples' },
    ],
    { title, xlim: LIM, ylim: LIM },
  ));
}

export async function writeScoreFieldPng(device: Device, path: string, cfg: ToyConfig, model: ToyModel, data: Float32Array): Promise<void> {
  const g = 21;
  const pts = new Float32Array(g * g * 2);
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) {
    pts[(i * g + j) * 2] = LIM[0] + ((LIM[1] - LIM[0]) * j) / (g - 1);
    pts[(i * g + j) * 2 + 1] = LIM[0] + ((LIM[1] - LIM[0]) * i) / (g - 1);
  }
  const s = device.scope(() => {
    const x = Tensor.fromArray(device, pts, [g * g, 2]);
    return noGrad(() => model.score(x, noiseLevel(device, cfg, g * g)));
  });
  const vec = await s.toArray();
  s.dispose();
  writeFileAtomic(path, scoreFieldPlot(pts, vec, { title: `learned score s(x): ${cfg.loss} on ${cfg.data}`, xlim: LIM, ylim: LIM, data }));
}

export async function writeDensityPng(device: Device, path: string, cfg: ToyConfig, model: ToyModel): Promise<void> {
  if (model.kind !== 'energy') return;
  const g = 96;
  const pts = new Float32Array(g * g * 2);
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) {
    pts[(i * g + j) * 2] = LIM[0] + ((LIM[1] - LIM[0]) * (j + 0.5)) / g;
    pts[(i * g + j) * 2 + 1] = LIM[0] + ((LIM[1] - LIM[0]) * (i + 0.5)) / g;
  }
  const e = device.scope(() => noGrad(() => model.energy(Tensor.fromArray(device, pts, [g * g, 2]), noiseLevel(device, cfg, g * g))));
  const en = await e.toArray();
  e.dispose();
  // unnormalised density exp(−E), shifted for range
  let mn = Infinity;
  for (const v of en) mn = Math.min(mn, v);
  const dens = Float32Array.from(en, (v) => Math.exp(-(v - mn)));
  writeFileAtomic(path, densityPlot(dens, { nx: g, ny: g, title: `exp(-E), energy model: ${cfg.data}`, xlim: LIM, ylim: LIM, label: 'exp(-E)' }));
}

export function writeLossPng(path: string, history: [number, number][], title: string): void {
  if (history.length < 2) return;
  writeFileAtomic(path, lossCurvePlot(history.map((h) => h[0]), history.map((h) => h[1]), { title }));
}

export function runPaths(dir: string) {
  return {
    samplesNpy: join(dir, 'samples.npy'),
    samplesPng: join(dir, 'samples.png'),
    scorePng: join(dir, 'score_field.png'),
    densityPng: join(dir, 'density.png'),
    lossPng: join(dir, 'loss.png'),
    metrics: join(dir, 'metrics.json'),
  };
}

export { op };
