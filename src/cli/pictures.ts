// Pictures of a run, drawn from the chart specs of src/io/charts.ts (Vega-Lite, rendered headless to
// PNG by src/io/render_node.ts): samples over data, the learned score field, the energy model's
// density, the loss curve, and Fréchet distance against network evaluations for image samplers.
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import { writeFileAtomic } from '../io/fs.js';
import { scatterSpec, scoreFieldSpec, densitySpec, lossCurveSpec, fdCurveSpec, makeGrid, type FdOptions, type FdSeries, type TopLevelSpec } from '../io/charts.js';
import { renderChartPng } from '../io/render_node.js';
import type { ToyModel } from '../nn/mlp.js';
import type { ToyConfig } from '../train/toy_config.js';
import { sigmasOf } from '../train/toy_recipes.js';
import { toModelUnits } from '../train/toy_fit.js';

const LIM: [number, number] = [-4.5, 4.5];
const LIM0 = LIM;

/**
 * The square window the toy pictures share: the built-in sets' [−4.5, 4.5]² when the data fit in
 * it, else the data's bounding square with a 10 % margin (data of any scale and place).
 */
export function toyWindow(data: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    lo = Math.min(lo, data[i]);
    hi = Math.max(hi, data[i]);
  }
  if (!(hi > lo) || (lo >= -4.5 && hi <= 4.5 && hi - lo > 1)) return LIM;
  const c = (lo + hi) / 2, h = 0.55 * (hi - lo);
  return [c - h, c + h];
}

/** The score of a run's model at data-unit points: s_x(x) = s_u((x − μ)/s)/s (chain rule of u = (x − μ)/s). */
function scoreInDataUnits(cfg: ToyConfig, out: Float32Array): Float32Array {
  const s = cfg.norm?.scale ?? 1;
  for (let i = 0; i < out.length; i++) out[i] /= s;
  return out;
}

function noiseLevel(device: Device, cfg: ToyConfig, n: number): Tensor | undefined {
  if (cfg.loss !== 'ncsn') return undefined;
  const s = sigmasOf(cfg)[cfg.levels - 1];
  return Tensor.constant(device, `sigma-col-${n}-${s}`, new Float32Array(n).fill(s), [n, 1]);
}

/** Render a chart spec to a PNG file (written atomically). A picture that cannot be drawn is reported, not fatal: the run's data are already on disk. */
export async function writeChartPng(path: string, spec: TopLevelSpec): Promise<void> {
  let png: Uint8Array;
  try {
    png = await renderChartPng(spec);
  } catch (e) {
    console.error(`scoregpu: could not draw ${path}: ${(e as Error).message}`);
    return;
  }
  writeFileAtomic(path, png);
}

export async function writeSamplesPng(path: string, samples: Float32Array, data: Float32Array, title: string): Promise<void> {
  const LIM = toyWindow(data);
  // only the points inside the picture: the renderer (resvg) aborts the process on coordinates far
  // outside it (a chain that ran off to 1e20 did), and they would not show anyway
  const inside = (p: Float32Array) => {
    const keep: number[] = [];
    for (let i = 0; i + 1 < p.length; i += 2) if (p[i] >= LIM[0] && p[i] <= LIM[1] && p[i + 1] >= LIM[0] && p[i + 1] <= LIM[1]) keep.push(p[i], p[i + 1]);
    return Float32Array.from(keep);
  };
  const shown = inside(samples);
  const off = (samples.length - shown.length) / 2;
  await writeChartPng(path, scatterSpec(
    [
      { points: inside(data), color: '#99aabb', label: 'data (held out)' },
      { points: shown, color: '#d62728', label: 'samples' },
    ],
    { title: off > 0 ? `${title} (${off} outside the picture)` : title, xlim: LIM, ylim: LIM },
  ));
}

export async function writeScoreFieldPng(device: Device, path: string, cfg: ToyConfig, model: ToyModel, data: Float32Array): Promise<void> {
  const g = 21;
  const LIM = toyWindow(data);
  const pts = makeGrid(LIM, LIM, g); // cell centres: no arrow is cut by the frame
  const s = device.scope(() => {
    const x = Tensor.fromArray(device, toModelUnits(pts, cfg.norm), [g * g, 2]);
    return noGrad(() => model.score(x, noiseLevel(device, cfg, g * g)));
  });
  const vec = scoreInDataUnits(cfg, await s.toArray());
  s.dispose();
  await writeChartPng(path, scoreFieldSpec(pts, vec, { title: `learned score s(x): ${cfg.loss} on ${cfg.data}`, xlim: LIM, ylim: LIM, data }));
}

export async function writeDensityPng(device: Device, path: string, cfg: ToyConfig, model: ToyModel, data?: Float32Array): Promise<void> {
  if (model.kind !== 'energy') return;
  const g = 144; // fine enough that the cells do not show at 2×
  const LIM = data ? toyWindow(data) : LIM0;
  const pts = makeGrid(LIM, LIM, g);
  // E in data units differs from the model's by a constant (log s per dimension): exp(−E) is drawn shifted anyway
  const e = device.scope(() => noGrad(() => model.energy(Tensor.fromArray(device, toModelUnits(pts, cfg.norm), [g * g, 2]), noiseLevel(device, cfg, g * g))));
  const en = await e.toArray();
  e.dispose();
  // unnormalised density exp(−E), shifted for range
  let mn = Infinity;
  for (const v of en) mn = Math.min(mn, v);
  const dens = Float32Array.from(en, (v) => Math.exp(-(v - mn)));
  await writeChartPng(path, densitySpec(dens, { nx: g, ny: g, title: `exp(−E), energy model: ${cfg.loss} on ${cfg.data}`, xlim: LIM, ylim: LIM, label: 'exp(−E)' }));
}

export async function writeLossPng(path: string, history: [number, number][], title: string): Promise<void> {
  if (history.length < 2) return;
  await writeChartPng(path, lossCurveSpec(history.map((h) => h[0]), history.map((h) => h[1]), { title }));
}

/** Fréchet distance against network evaluations, a line per sampler (log x), with the real-vs-real floor dashed. */
export async function writeFdPng(path: string, series: FdSeries[], opts: FdOptions = {}): Promise<void> {
  await writeChartPng(path, fdCurveSpec(series, opts));
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

