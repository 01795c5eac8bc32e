// The toy 2-D page: pick a data set and an objective, train an MLP score network on WebGPU and
// watch the loss, the learned score field and Langevin samples update live. Everything numeric
// runs through the engine (src/index.ts); this file is UI, drawing and the test hooks on
// window.scoregpu (test/browser/toy2d.test.ts drives the page through them).
import embed from 'vega-embed';
import * as engine from '../../../src/index.js';
import { createDevice, Device, Tensor, Trainer, rows, TOY_SETS, sampleToy, noGrad, recipes, losses, samplers } from '../../../src/index.js';

type LossName = (typeof losses.LOSSES)[number];
type SamplerName = (typeof samplers.SAMPLERS)[number];
type ToyModel = ReturnType<typeof recipes.buildToyModel>['model'];
type Arena = ReturnType<typeof recipes.buildToyModel>['arena'];

export interface TrainOptions {
  data: string;
  loss: LossName;
  hidden: number[];
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Steps between loss read-backs (one GPU round trip each). */
  logEvery: number;
  /** Steps between live previews (score field + a short Langevin chain); 0 turns them off. */
  previewEvery: number;
  previewSamples: number;
  previewSteps: number;
  /** Run the chosen sampler when training ends. */
  sampleAfter: boolean;
}

export interface SampleOptions {
  sampler: SamplerName;
  steps: number;
  stepSize: number;
  n: number;
  seed: number;
  weights: 'ema' | 'current';
}

type State = 'loading' | 'ready' | 'training' | 'sampling' | 'error' | 'unsupported';

const VIEW = 4.5; // plots show [-VIEW, VIEW]²
const GRID = 21; // score-field arrows per side
const N_DATA = 20000;

// ------------------------------------------------------------------ page state and test hooks

const hooks = {
  state: 'loading' as State,
  adapter: '',
  step: 0,
  totalSteps: 0,
  stepsPerSec: 0,
  losses: [] as { step: number; loss: number }[],
  samples: null as Float32Array | null,
  samplesInfo: null as null | { sampler: SamplerName; steps: number; n: number; weights: string; ms: number; step: number },
  field: null as Float32Array | null,
  data: null as Float32Array | null,
  errors: [] as string[],
  train: (o: Partial<TrainOptions> = {}) => train(o),
  sample: (o: Partial<SampleOptions> = {}) => sample(o),
  stop: () => {
    stopRequested = true;
  },
  /** The engine itself (src/index.ts), for experiments from the console. */
  engine,
  /** The engine's Device (stats, adapter info) once WebGPU is up. */
  get device() {
    return device;
  },
  /** Non-background pixels of a canvas ('samples' | 'field' | 'loss'), for tests. */
  inkedPixels: (which: 'samples' | 'field' | 'loss') => (which === 'loss' ? inked(lossChart.querySelector('canvas')) : inked(canvases[which])),
};
(window as any).scoregpu = hooks;

let device: Device | null = null;
let run: null | {
  cfg: ReturnType<typeof recipes.toyConfig>;
  model: ToyModel;
  arena: Arena;
  trainer: Trainer;
  ema: null | { model: ToyModel; arena: Arena; step: number };
} = null;
let stopRequested = false;

// ------------------------------------------------------------------ DOM

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  data: $<HTMLSelectElement>('data'),
  loss: $<HTMLSelectElement>('loss'),
  hidden: $<HTMLSelectElement>('hidden'),
  steps: $<HTMLInputElement>('steps'),
  batch: $<HTMLSelectElement>('batch'),
  lr: $<HTMLInputElement>('lr'),
  sampler: $<HTMLSelectElement>('sampler'),
  sampleSteps: $<HTMLInputElement>('sample-steps'),
  stepsLabel: $<HTMLSpanElement>('steps-label'),
  stepSize: $<HTMLInputElement>('step-size'),
  n: $<HTMLInputElement>('n'),
  weights: $<HTMLSelectElement>('weights'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  sample: $<HTMLButtonElement>('sample'),
  progress: $<HTMLProgressElement>('progress'),
  status: $<HTMLDivElement>('status'),
  adapter: $<HTMLDivElement>('adapter'),
  error: $<HTMLDivElement>('error'),
  samplesCaption: $<HTMLSpanElement>('samples-caption'),
  fieldCaption: $<HTMLSpanElement>('field-caption'),
  lossCaption: $<HTMLSpanElement>('loss-caption'),
};
const canvases = {
  samples: $<HTMLCanvasElement>('samples-canvas'),
  field: $<HTMLCanvasElement>('field-canvas'),
};
const lossChart = $<HTMLDivElement>('loss-chart');

const LOSS_NAMES: Record<LossName, string> = {
  esm: 'explicit score matching (exact trace)',
  dsm: 'denoising score matching',
  ssm: 'sliced score matching',
  ssmvr: 'sliced score matching, variance-reduced',
  deen: 'DEEN: energy network trained by DSM',
  ncsn: 'NCSN: multi-σ denoising score matching',
};
const LOSS_SHORT: Record<LossName, string> = { esm: 'ESM', dsm: 'DSM', ssm: 'SSM', ssmvr: 'SSM-VR', deen: 'DEEN', ncsn: 'NCSN' };

for (const d of TOY_SETS) ui.data.add(new Option(d, d));
for (const l of losses.LOSSES) {
  const opt = new Option(LOSS_SHORT[l], l);
  opt.title = LOSS_NAMES[l];
  ui.loss.add(opt);
}
ui.data.value = 'swissroll';
ui.loss.value = 'dsm';

/** Sampler defaults follow the objective (recipes.toyConfig); annealed needs a noise-conditional net. */
function syncSamplerControls(resetValues: boolean) {
  const ncsn = ui.loss.value === 'ncsn';
  $('loss-hint').textContent = LOSS_NAMES[ui.loss.value as LossName];
  const annealed = ui.sampler.options[1];
  annealed.disabled = !ncsn;
  if (resetValues) {
    const c = recipes.toyConfig({ loss: ui.loss.value as LossName });
    ui.sampler.value = c.sampler;
    ui.sampleSteps.value = String(c.sampleSteps);
    ui.stepSize.value = String(c.stepSize);
  }
  if (!ncsn && ui.sampler.value === 'annealed') ui.sampler.value = 'langevin';
  ui.stepsLabel.textContent = ui.sampler.value === 'annealed' ? 'Steps / level' : 'Steps';
}
ui.loss.addEventListener('change', () => syncSamplerControls(true));
ui.sampler.addEventListener('change', () => {
  if (ui.sampler.value === 'langevin' && ui.loss.value === 'ncsn') {
    ui.sampleSteps.value = '1000';
    ui.stepSize.value = '0.001';
  } else if (ui.sampler.value === 'annealed') {
    const c = recipes.toyConfig({ loss: 'ncsn' });
    ui.sampleSteps.value = String(c.sampleSteps);
    ui.stepSize.value = String(c.stepSize);
  }
  syncSamplerControls(false);
});
ui.data.addEventListener('change', () => {
  if (hooks.state !== 'training') showData(ui.data.value);
});
syncSamplerControls(true);

function setState(s: State) {
  hooks.state = s;
  const busy = s === 'training' || s === 'sampling' || s === 'loading';
  const dead = s === 'error' && !device || s === 'unsupported';
  ui.train.disabled = busy || dead;
  ui.sample.disabled = busy || dead || !run;
  ui.stop.disabled = s !== 'training';
  for (const el of [ui.data, ui.loss, ui.hidden, ui.steps, ui.batch, ui.lr]) el.disabled = s === 'training';
  for (const el of [ui.sampler, ui.sampleSteps, ui.stepSize, ui.n, ui.weights]) el.disabled = s === 'sampling';
}

function showError(e: unknown) {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  hooks.errors.push(msg);
  console.error('scoregpu:', e);
  ui.error.textContent = msg;
  ui.error.hidden = false;
}

function status(text: string, frac?: number) {
  ui.status.textContent = text;
  if (frac === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = frac;
}

const fmt = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toPrecision(4));
const nextFrame = () => new Promise<void>((r) => setTimeout(r, 0));

// ------------------------------------------------------------------ training

function readTrainOptions(o: Partial<TrainOptions>): TrainOptions {
  const steps = o.steps ?? Number(ui.steps.value);
  return {
    data: o.data ?? ui.data.value,
    loss: o.loss ?? (ui.loss.value as LossName),
    hidden: o.hidden ?? ui.hidden.value.split(',').map(Number),
    steps,
    batchSize: o.batchSize ?? Number(ui.batch.value),
    lr: o.lr ?? Number(ui.lr.value),
    seed: o.seed ?? 0,
    logEvery: o.logEvery ?? Math.max(5, Math.min(25, Math.round(steps / 100))),
    previewEvery: o.previewEvery ?? Math.max(50, Math.round(steps / 10)),
    previewSamples: o.previewSamples ?? 300,
    previewSteps: o.previewSteps ?? 300,
    sampleAfter: o.sampleAfter ?? true,
  };
}

function reflectOptions(o: TrainOptions) {
  ui.data.value = o.data;
  const lossChanged = ui.loss.value !== o.loss;
  ui.loss.value = o.loss;
  ui.steps.value = String(o.steps);
  ui.lr.value = String(o.lr);
  if (Array.from(ui.batch.options).some((x) => x.value === String(o.batchSize))) ui.batch.value = String(o.batchSize);
  const h = o.hidden.join(',');
  if (Array.from(ui.hidden.options).some((x) => x.value === h)) ui.hidden.value = h;
  syncSamplerControls(lossChanged);
}

function disposeRun() {
  if (!run) return;
  run.trainer.dispose();
  for (const t of [run.trainer.optimizer.m, run.trainer.optimizer.v, run.trainer.ema?.shadow, run.arena.data, run.ema?.arena.data]) {
    if (t && !t.disposed) t.dispose();
  }
  run = null;
}

async function train(partial: Partial<TrainOptions>) {
  if (!device) throw new Error('no WebGPU device');
  if (hooks.state === 'training' || hooks.state === 'sampling') throw new Error(`busy (${hooks.state})`);
  const o = readTrainOptions(partial);
  reflectOptions(o);
  setState('training');
  stopRequested = false;
  ui.error.hidden = true;
  try {
    disposeRun();
    const cfg = recipes.toyConfig({
      data: o.data, loss: o.loss, hidden: o.hidden, steps: o.steps, batchSize: o.batchSize, seed: o.seed,
      optim: { ...recipes.toyConfig().optim, lr: o.lr },
    });
    const data = showData(o.data);
    const { model, arena } = recipes.buildToyModel(device, cfg);
    const trainer = new Trainer(device, arena, recipes.toyLoss(device, cfg, model), rows(data, 2), recipes.trainerConfig(cfg, o.logEvery));
    run = { cfg, model, arena, trainer, ema: null };
    hooks.losses = [];
    hooks.samples = null;
    hooks.field = null;
    hooks.step = 0;
    hooks.totalSteps = o.steps;
    hooks.stepsPerSec = 0;
    drawLoss();
    ui.samplesCaption.textContent = '';
    status(`compiling kernels… (${LOSS_NAMES[o.loss]})`, 0);
    await nextFrame();

    let t0 = 0;
    let s0 = 0;
    let trainMs = 0; // time in training chunks only (previews excluded from steps/s)
    let nextPreview = o.previewEvery;
    while (trainer.step < o.steps && !stopRequested) {
      const c0 = performance.now();
      const chunk = Math.min(o.logEvery - (trainer.step % o.logEvery), o.steps - trainer.step);
      for (let i = 0; i < chunk; i++) trainer.runStep();
      const loss = await trainer.readLoss();
      if (trainer.step <= o.logEvery) {
        // the first chunk compiles pipelines and records the step: leave it out of steps/s
        t0 = performance.now();
        s0 = trainer.step;
      } else trainMs += performance.now() - c0;
      hooks.step = trainer.step;
      hooks.losses.push({ step: trainer.step, loss });
      hooks.stepsPerSec = trainMs > 0 ? ((trainer.step - s0) / trainMs) * 1000 : 0;
      status(
        `step ${trainer.step} / ${o.steps} · loss ${fmt(loss)}` + (hooks.stepsPerSec ? ` · ${hooks.stepsPerSec.toFixed(1)} steps/s` : ''),
        trainer.step / o.steps,
      );
      drawLoss();
      if (o.previewEvery > 0 && (trainer.step >= nextPreview || trainer.step === o.steps)) {
        nextPreview = trainer.step + o.previewEvery;
        await preview(o);
      }
      await nextFrame();
    }
    void t0;
    const wall = hooks.stepsPerSec;
    status(
      `${stopRequested ? 'stopped' : 'trained'} ${trainer.step} steps · final loss ${fmt(hooks.losses.at(-1)?.loss ?? NaN)} · ${wall.toFixed(1)} steps/s`,
      trainer.step / o.steps,
    );
    setState('ready');
    if (o.sampleAfter && !stopRequested) await sample({});
    return { steps: trainer.step, losses: hooks.losses, stepsPerSec: hooks.stepsPerSec };
  } catch (e) {
    showError(e);
    setState(device ? 'ready' : 'error');
    throw e;
  }
}

/** Score field on the grid and a short Langevin chain with the current weights. */
async function preview(o: TrainOptions) {
  if (!run || !device) return;
  await drawField(run.model, run.cfg);
  const r = await recipes.sampleToyModel(device, run.cfg, run.model, {
    n: o.previewSamples,
    sampler: run.cfg.loss === 'ncsn' ? 'annealed' : 'langevin',
    steps: run.cfg.loss === 'ncsn' ? Math.max(10, Math.round(o.previewSteps / run.cfg.levels)) : o.previewSteps,
  });
  drawSamples(r.samples);
  ui.samplesCaption.textContent = `live preview at step ${run.trainer.step}: ${o.previewSamples} points, ${o.previewSteps} steps`;
}

// ------------------------------------------------------------------ sampling

function readSampleOptions(o: Partial<SampleOptions>): SampleOptions {
  return {
    sampler: o.sampler ?? (ui.sampler.value as SamplerName),
    steps: o.steps ?? Number(ui.sampleSteps.value),
    stepSize: o.stepSize ?? Number(ui.stepSize.value),
    n: o.n ?? Number(ui.n.value),
    seed: o.seed ?? 1,
    weights: o.weights ?? (ui.weights.value as 'ema' | 'current'),
  };
}

/** The model to sample with: the training weights, or a copy holding the EMA weights. */
async function samplingModel(weights: 'ema' | 'current'): Promise<ToyModel> {
  if (!run || !device) throw new Error('train a model first');
  const ema = run.trainer.ema;
  if (weights === 'current' || !ema) return run.model;
  if (!run.ema) run.ema = { ...recipes.buildToyModel(device, run.cfg), step: -1 };
  if (run.ema.step !== run.trainer.step) {
    run.ema.arena.load(await run.trainer.arena.read(ema.shadow));
    run.ema.step = run.trainer.step;
  }
  return run.ema.model;
}

async function sample(partial: Partial<SampleOptions>) {
  if (!device || !run) throw new Error('train a model first');
  if (hooks.state === 'training' || hooks.state === 'sampling') throw new Error(`busy (${hooks.state})`);
  const o = readSampleOptions(partial);
  ui.sampler.value = o.sampler;
  ui.sampleSteps.value = String(o.steps);
  ui.stepSize.value = String(o.stepSize);
  ui.n.value = String(o.n);
  ui.weights.value = o.weights;
  syncSamplerControls(false);
  setState('sampling');
  try {
    const model = await samplingModel(o.weights);
    const total = o.sampler === 'annealed' ? o.steps * run.cfg.levels : o.steps;
    status(`sampling: ${o.sampler}, ${total} steps × ${o.n} chains…`);
    await nextFrame();
    const t = performance.now();
    const r = await recipes.sampleToyModel(device, run.cfg, model, { n: o.n, sampler: o.sampler, steps: o.steps, stepSize: o.stepSize, seed: o.seed });
    const ms = performance.now() - t;
    await drawField(model, run.cfg);
    hooks.samples = r.samples;
    hooks.samplesInfo = { sampler: o.sampler, steps: total, n: o.n, weights: o.weights, ms, step: run.trainer.step };
    drawSamples(r.samples);
    ui.samplesCaption.textContent = `${o.sampler === 'annealed' ? 'annealed Langevin' : 'Langevin'}, ${total} steps, ${o.weights} weights · ${(ms / 1000).toFixed(1)} s`;
    status(`sampled ${o.n} points in ${(ms / 1000).toFixed(2)} s (${((total / ms) * 1000).toFixed(0)} steps/s) · model at step ${run.trainer.step}`, 1);
    setState('ready');
    return { samples: r.samples, ms };
  } catch (e) {
    showError(e);
    setState('ready');
    throw e;
  }
}

// ------------------------------------------------------------------ drawing

interface Plot {
  ctx: CanvasRenderingContext2D;
  w: number;
  h: number;
}

function plot(c: HTMLCanvasElement): Plot {
  const dpr = Math.max(1, Math.min(2, window.devicePixelRatio || 1));
  const w = c.clientWidth || c.width;
  const h = c.clientHeight || c.height;
  if (c.width !== Math.round(w * dpr)) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
  }
  const ctx = c.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, w, h);
  return { ctx, w, h };
}

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const toPx = (p: Plot, x: number, y: number): [number, number] => [((x + VIEW) / (2 * VIEW)) * p.w, ((VIEW - y) / (2 * VIEW)) * p.h];

function axes(p: Plot) {
  const { ctx } = p;
  ctx.strokeStyle = '#eef0f3';
  ctx.lineWidth = 1;
  for (let v = -4; v <= 4; v += 1) {
    const [x] = toPx(p, v, 0);
    const [, y] = toPx(p, 0, v);
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, p.h);
    ctx.moveTo(0, y);
    ctx.lineTo(p.w, y);
    ctx.stroke();
  }
  ctx.strokeStyle = '#d9dde3';
  const [x0, y0] = toPx(p, 0, 0);
  ctx.beginPath();
  ctx.moveTo(x0, 0);
  ctx.lineTo(x0, p.h);
  ctx.moveTo(0, y0);
  ctx.lineTo(p.w, y0);
  ctx.stroke();
}

function dots(p: Plot, pts: Float32Array, color: string, r: number, max = Infinity) {
  const { ctx } = p;
  ctx.fillStyle = color;
  const n = Math.min(pts.length / 2, max);
  for (let i = 0; i < n; i++) {
    const [x, y] = toPx(p, pts[2 * i], pts[2 * i + 1]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function showData(name: string): Float32Array {
  const data = sampleToy(name, N_DATA, 0);
  hooks.data = data;
  drawSamples(null);
  drawField(null, null);
  return data;
}

function drawSamples(samples: Float32Array | null) {
  const p = plot(canvases.samples);
  axes(p);
  if (hooks.data) {
    p.ctx.globalAlpha = 0.35;
    dots(p, hooks.data, css('--data'), 1.1, 4000);
    p.ctx.globalAlpha = 1;
  }
  if (samples) {
    p.ctx.globalAlpha = 0.85;
    dots(p, samples, css('--model'), 1.8);
    p.ctx.globalAlpha = 1;
  }
}

// Blue → red diverging ramp (coolwarm-like), t in [0, 1].
const RAMP = [[59, 76, 192], [111, 155, 247], [201, 215, 240], [244, 165, 130], [180, 4, 38]];
function ramp(t: number): string {
  const u = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(u));
  const f = u - i;
  const c = RAMP[i].map((a, k) => Math.round(a + (RAMP[i + 1][k] - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const gridPoints = (() => {
  const g = new Float32Array(GRID * GRID * 2);
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID; j++) {
      const k = i * GRID + j;
      g[2 * k] = -VIEW + ((j + 0.5) / GRID) * 2 * VIEW;
      g[2 * k + 1] = -VIEW + ((i + 0.5) / GRID) * 2 * VIEW;
    }
  }
  return g;
})();

/** s_θ on the grid (one forward on the GPU, one read-back); NCSN nets at their smallest σ. */
async function scoreOnGrid(model: ToyModel, cfg: ReturnType<typeof recipes.toyConfig>): Promise<Float32Array> {
  const d = device!;
  const n = GRID * GRID;
  const s = d.scope(() =>
    noGrad(() => {
      const x = Tensor.fromArray(d, gridPoints, [n, 2]);
      if (cfg.loss === 'ncsn') {
        const sL = recipes.sigmasOf(cfg)[cfg.levels - 1];
        return model.score(x, Tensor.fromArray(d, new Float32Array(n).fill(sL), [n, 1]));
      }
      return model.score(x);
    }),
  );
  const out = await s.toArray();
  s.dispose();
  return out;
}

async function drawField(model: ToyModel | null, cfg: ReturnType<typeof recipes.toyConfig> | null) {
  const field = model && cfg ? await scoreOnGrid(model, cfg) : null;
  if (field) hooks.field = field;
  const p = plot(canvases.field);
  axes(p);
  if (hooks.data) {
    p.ctx.globalAlpha = 0.18;
    dots(p, hooks.data, css('--data'), 1.1, 4000);
    p.ctx.globalAlpha = 1;
  }
  if (!field) return;
  const n = GRID * GRID;
  const mags = new Float32Array(n);
  for (let k = 0; k < n; k++) mags[k] = Math.hypot(field[2 * k], field[2 * k + 1]);
  const sorted = Array.from(mags).filter(Number.isFinite).sort((a, b) => a - b);
  const lo = Math.log(Math.max(1e-6, sorted[Math.floor(sorted.length * 0.02)] ?? 1e-6));
  const hi = Math.log(Math.max(1e-6, sorted[Math.floor(sorted.length * 0.98)] ?? 1));
  const cell = p.w / GRID;
  const { ctx } = p;
  ctx.lineWidth = 1.4;
  ctx.lineCap = 'round';
  for (let k = 0; k < n; k++) {
    const m = mags[k];
    if (!(m > 0) || !Number.isFinite(m)) continue;
    const t = hi > lo ? (Math.log(m) - lo) / (hi - lo) : 0.5;
    const len = cell * (0.3 + 0.45 * Math.max(0, Math.min(1, t)));
    const ux = field[2 * k] / m;
    const uy = -field[2 * k + 1] / m; // canvas y points down
    const [cx, cy] = toPx(p, gridPoints[2 * k], gridPoints[2 * k + 1]);
    const x0 = cx - (ux * len) / 2, y0 = cy - (uy * len) / 2;
    const x1 = cx + (ux * len) / 2, y1 = cy + (uy * len) / 2;
    const col = ramp(t);
    ctx.strokeStyle = col;
    ctx.fillStyle = col;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    const hx = ux * 4, hy = uy * 4;
    ctx.beginPath();
    ctx.moveTo(x1 + hx * 0.4, y1 + hy * 0.4);
    ctx.lineTo(x1 - hx - hy * 0.6, y1 - hy + hx * 0.6);
    ctx.lineTo(x1 - hx + hy * 0.6, y1 - hy - hx * 0.6);
    ctx.closePath();
    ctx.fill();
  }
  ui.fieldCaption.textContent = cfg
    ? (cfg.loss === 'ncsn' ? `at σ = ${recipes.sigmasOf(cfg)[cfg.levels - 1].toFixed(3)}, ` : '') + `‖s‖ ${fmt(Math.exp(lo))} … ${fmt(Math.exp(hi))}`
    : '';
}

// The loss chart is charts.lossCurveSpec (the CLI's loss.png spec) drawn by vega-embed: at most once a
// second while training (a trailing draw catches the last value), the previous view released first.
let lossView: { finalize(): void } | null = null;
let lossLast = 0;
let lossTimer: ReturnType<typeof setTimeout> | null = null;
function drawLoss() {
  const wait = 1000 - (performance.now() - lossLast);
  if (wait > 0 && hooks.losses.length) {
    lossTimer ??= setTimeout(() => {
      lossTimer = null;
      drawLoss();
    }, wait);
    return;
  }
  lossLast = performance.now();
  const L = hooks.losses;
  lossView?.finalize();
  lossView = null;
  if (L.length === 0) {
    lossChart.innerHTML = '<div class="placeholder">press Train: the loss appears here as it is read back from the GPU</div>';
    ui.lossCaption.textContent = '';
    return;
  }
  const xmax = Math.max(hooks.totalSteps, L[L.length - 1].step);
  const spec = engine.charts.lossCurveSpec(L.map((e) => e.step), L.map((e) => e.loss), { size: [700, 100], xlim: [0, xmax], xlabel: 'step', ylabel: 'loss' });
  embed(lossChart, spec as any, { actions: false, renderer: 'canvas' }).then((r) => (lossView = r), (e) => showError(e));
  ui.lossCaption.textContent = `${run ? LOSS_SHORT[run.cfg.loss] : ''} on ${run?.cfg.data ?? ''} · step ${L[L.length - 1].step} · ${fmt(L[L.length - 1].loss)}`;
}

function inked(c: HTMLCanvasElement | null): number {
  if (!c) return 0;
  const ctx = c.getContext('2d')!;
  const img = ctx.getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < img.length; i += 4) if (img[i] < 245 || img[i + 1] < 245 || img[i + 2] < 245) n++;
  return n;
}

// ------------------------------------------------------------------ start

ui.train.addEventListener('click', () => train({}).catch(() => {}));
ui.sample.addEventListener('click', () => sample({}).catch(() => {}));
ui.stop.addEventListener('click', () => {
  stopRequested = true;
});

async function start() {
  showData(ui.data.value);
  drawLoss();
  setState('loading');
  if (!('gpu' in navigator)) {
    ui.adapter.textContent = 'no WebGPU';
    showError(new Error('This browser has no WebGPU (navigator.gpu). Use Chrome or Edge 113+, Safari 26+, or Firefox 141+ (Windows); on Linux Chromium, start it with --enable-unsafe-webgpu.'));
    status('WebGPU unavailable');
    setState('unsupported');
    return;
  }
  try {
    device = await createDevice();
    const i = device.info;
    hooks.adapter = [i.vendor, i.architecture, i.description || i.device].filter(Boolean).join(' · ') || 'WebGPU adapter';
    ui.adapter.textContent = `WebGPU: ${hooks.adapter}${i.isFallback ? ' (fallback adapter)' : ''}${device.hasSubgroups ? ' · subgroups' : ''}`;
    device.device.lost.then((l) => {
      if (l.reason !== 'destroyed') showError(new Error(`WebGPU device lost: ${l.message}`));
      setState('error');
    });
    status('ready: choose a data set and an objective, then Train', 0);
    setState('ready');
  } catch (e) {
    showError(e);
    ui.adapter.textContent = 'no WebGPU adapter';
    status('no WebGPU device');
    device = null;
    setState('error');
  }
}
void start();
