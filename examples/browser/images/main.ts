// The image page: Fashion-MNIST images generated live on the visitor's GPU from a shipped model
// (dist/examples/models/, copied there from models/ by build.mjs) or from a run or model folder the
// visitor drops on the page. Loading, sampler plans and sampling are the library's own calls —
// loadImageModel, imageSamplers.makePlan, sampleImages → runPlan, as `scoregpu sample` makes them —
// this file is UI, drawing and the test hooks on window.scoregpu (test/browser/images.test.ts).
import embed from 'vega-embed';
import * as engine from '../../../src/index.js';
import { createDevice, Device, DeviceError, loadImageModel, decodeSafetensors, imageSamplers, sampleImages, samplerDefaults, charts, Trainer, imageRecipes, defaultAdam, type LoadedImageRun, type StFile, type ImageConfig } from '../../../src/index.js';

type State = 'loading' | 'ready' | 'loading-model' | 'sampling' | 'training' | 'error' | 'lost' | 'unsupported';
type PlanOptions = imageSamplers.PlanOptions;

interface ModelEntry {
  /** Shown in the menu and used by the hooks. */
  name: string;
  source: 'shipped' | 'dropped' | 'trained';
  /** shipped: where to fetch model.safetensors (relative to this page). */
  url?: string;
  bytes?: number;
  config?: Partial<ImageConfig> | null;
  /** dropped: the decoded file. */
  file?: StFile;
  /** trained in the page: the model itself. */
  run?: LoadedImageRun;
  /** A run's loss.csv, if it came along (shipped: where to fetch it). */
  loss?: { steps: number[]; losses: number[] };
  lossUrl?: string;
}

/** What a sampler takes, found by asking makePlan (nothing about samplers is written down here). */
interface SamplerInfo {
  name: string;
  help: string;
  /** The option its step count is (DDIM: steps; annealed Langevin: steps per level), if any. */
  stepsOption: 'steps' | 'stepsPerLevel' | null;
  /** Whether η changes its plan (DDIM). */
  takesEta: boolean;
}

export interface SampleOptions {
  sampler: string;
  steps: number;
  eta: number;
  seed: number;
  n: number;
  previewEvery: number;
}

interface PreviewRecord {
  step: number;
  nfe: number;
  /** mean and standard deviation of x̂₀ and of x, over all pixels. */
  x0Mean: number;
  x0Std: number;
  xStd: number;
  x0: Float32Array;
}

// ------------------------------------------------------------------ page state and test hooks

const hooks = {
  state: 'loading' as State,
  adapter: '',
  errors: [] as string[],
  /** The message shown when the device was lost ('' while it lives). */
  lost: '',
  models: [] as string[],
  model: null as null | { name: string; process: string; prediction: string; parameters: number; step: number; weights: string; samplers: string[] },
  samplers: [] as SamplerInfo[],
  progress: { step: 0, total: 0, nfe: 0, stepsPerSec: 0, seconds: 0 },
  previews: [] as PreviewRecord[],
  result: null as null | { samples: Float32Array; nfe: number; seconds: number; options: SampleOptions; shape: number[] },
  /** Load a listed model by name. */
  load: (name: string) => selectModel(name),
  sample: (o: Partial<SampleOptions> = {}) => sample(o),
  stop: () => abort?.abort(new DOMException('stopped', 'AbortError')),
  /** Train a DDPM U-Net on the served Fashion-MNIST subset (see TrainOptions). */
  train: (o: Partial<TrainOptions> = {}) => train(o),
  training: { step: 0, steps: 0, imgPerSec: 0, losses: [] as { step: number; loss: number }[], samplesAt: [] as number[] },
  /** Simulate losing the GPU (a driver reset, the tab evicted): destroys the device. */
  loseDevice: () => device?.destroy(),
  engine,
  get device() {
    return device;
  },
};
(window as any).scoregpu = hooks;

let device: Device | null = null;
let current: { entry: ModelEntry; run: LoadedImageRun } | null = null;
const entries: ModelEntry[] = [];
let abort: AbortController | null = null;

export interface TrainOptions {
  unet: 'tiny' | 'small';
  steps: number;
  batchSize: number;
  lr: number;
  /** Steps between sample grids of the model in training (0: none). */
  previewEvery: number;
  /** Training images to use (default: all served). */
  nTrain?: number;
  seed: number;
}

// ------------------------------------------------------------------ DOM

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  model: $<HTMLSelectElement>('model'),
  modelInfo: $<HTMLDivElement>('model-info'),
  drop: $<HTMLDivElement>('drop'),
  file: $<HTMLInputElement>('file'),
  sampler: $<HTMLSelectElement>('sampler'),
  samplerHint: $<HTMLDivElement>('sampler-hint'),
  stepsRow: $<HTMLLabelElement>('steps-row'),
  stepsLabel: $<HTMLSpanElement>('steps-label'),
  steps: $<HTMLInputElement>('steps'),
  etaRow: $<HTMLLabelElement>('eta-row'),
  eta: $<HTMLInputElement>('eta'),
  seed: $<HTMLInputElement>('seed'),
  n: $<HTMLSelectElement>('n'),
  previewEvery: $<HTMLInputElement>('preview-every'),
  planInfo: $<HTMLDivElement>('plan-info'),
  sample: $<HTMLButtonElement>('sample'),
  stop: $<HTMLButtonElement>('stop'),
  progress: $<HTMLProgressElement>('progress'),
  status: $<HTMLDivElement>('status'),
  adapter: $<HTMLDivElement>('adapter'),
  error: $<HTMLDivElement>('error'),
  xCanvas: $<HTMLCanvasElement>('x-canvas'),
  x0Canvas: $<HTMLCanvasElement>('x0-canvas'),
  xCaption: $<HTMLSpanElement>('x-caption'),
  x0Caption: $<HTMLSpanElement>('x0-caption'),
  stat: { step: $('stat-step'), nfe: $('stat-nfe'), rate: $('stat-rate'), time: $('stat-time'), noise: $('stat-noise') },
  lossCard: $<HTMLElement>('loss-card'),
  lossChart: $<HTMLDivElement>('loss-chart'),
  lossCaption: $<HTMLSpanElement>('loss-caption'),
  trainBox: $<HTMLDetailsElement>('train-box'),
  trainHint: $<HTMLDivElement>('train-hint'),
  trainUnet: $<HTMLSelectElement>('train-unet'),
  trainSteps: $<HTMLInputElement>('train-steps'),
  trainBatch: $<HTMLSelectElement>('train-batch'),
  trainLr: $<HTMLInputElement>('train-lr'),
  trainPreview: $<HTMLInputElement>('train-preview'),
  train: $<HTMLButtonElement>('train'),
};

function setState(s: State) {
  hooks.state = s;
  const busy = s === 'sampling' || s === 'training' || s === 'loading' || s === 'loading-model';
  const dead = s === 'lost' || s === 'unsupported' || (s === 'error' && !device);
  ui.sample.disabled = busy || dead || !current;
  ui.stop.disabled = s !== 'sampling' && s !== 'training';
  ui.train.disabled = busy || dead || !trainingData;
  for (const el of [ui.model, ui.file, ui.sampler, ui.steps, ui.eta, ui.seed, ui.n, ui.previewEvery, ui.trainUnet, ui.trainSteps, ui.trainBatch, ui.trainLr, ui.trainPreview]) el.disabled = busy || dead;
  ui.drop.classList.toggle('disabled', busy || dead);
  document.body.classList.toggle('lost', s === 'lost');
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function showError(e: unknown) {
  const msg = message(e);
  hooks.errors.push(msg);
  console.error('scoregpu:', e);
  ui.error.textContent = msg;
  ui.error.hidden = false;
}

/** The device is gone: say so where the pictures were, and stop offering to sample. */
function showLost(detail: string) {
  if (hooks.lost) return;
  hooks.lost = `The GPU device was lost (${detail}). Sampling stopped; reload the page to start again.`;
  ui.error.textContent = hooks.lost;
  ui.error.hidden = false;
  ui.error.classList.add('lost');
  status('GPU device lost — reload the page');
  for (const c of [ui.xCaption, ui.x0Caption]) c.textContent = '· device lost';
  setState('lost');
}

function status(text: string, frac?: number) {
  ui.status.textContent = text;
  if (frac === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = frac;
}

const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));
const fmt = (x: number, d = 3) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toPrecision(d));
const kb = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MB` : `${Math.round(b / 1024)} kB`);

// ------------------------------------------------------------------ models

function describeProcess(c: Partial<ImageConfig> | null | undefined): string {
  const p = c?.process as Record<string, unknown> | undefined;
  if (!p) return '';
  switch (p.kind) {
    case 'ddpm':
      return `DDPM, ${p.schedule} β, T = ${p.T}`;
    case 'ncsn':
      return `NCSN, ${p.levels} σ levels ${fmt(Number(p.sigmaMax))} → ${p.sigmaMin}`;
    default:
      return `${String(p.kind).toUpperCase()} SDE, N = ${p.N}`;
  }
}

function addEntry(e: ModelEntry) {
  const old = entries.findIndex((x) => x.name === e.name);
  if (old >= 0) {
    entries[old] = e;
  } else {
    entries.push(e);
    ui.model.add(new Option(e.source === 'shipped' ? e.name : `${e.name} (${e.source})`, e.name));
  }
  hooks.models = entries.map((x) => x.name);
}

async function listShipped() {
  try {
    const r = await fetch('../models/index.json');
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const list = (await r.json()).models as { name: string; file: string; bytes: number; config: Partial<ImageConfig> | null; loss?: string }[];
    for (const m of list) addEntry({ name: m.name, source: 'shipped', url: `../models/${m.file}`, bytes: m.bytes, config: m.config, lossUrl: m.loss && `../models/${m.loss}` });
  } catch (e) {
    console.warn('scoregpu: no shipped models listed', e);
  }
  if (!entries.length) ui.modelInfo.textContent = 'no shipped models here: drop a run folder or a model.safetensors';
}

function disposeCurrent() {
  if (!current || current.entry.run) return; // a model trained here stays for as long as the page
  const a = current.run.arena;
  for (const [, p] of a.params) if (p.value && !p.value.disposed) p.value.dispose();
  if (!a.data.disposed) a.data.dispose();
  current = null;
}

async function selectModel(name: string) {
  if (!device) throw new Error('no WebGPU device');
  if (hooks.state === 'sampling') throw new Error('busy: sampling');
  const entry = entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no model named '${name}' (have ${entries.map((e) => e.name).join(', ') || 'none'})`);
  ui.model.value = name;
  setState('loading-model');
  ui.error.hidden = true;
  try {
    let file = entry.file;
    if (entry.run) {
      // trained in this page: the model is already on the device
    } else if (!file) {
      status(`fetching ${entry.name} (${entry.bytes ? kb(entry.bytes) : '…'})`);
      const r = await fetch(entry.url!);
      if (!r.ok) throw new Error(`${entry.url}: HTTP ${r.status}`);
      file = decodeSafetensors(new Uint8Array(await r.arrayBuffer()), entry.url!);
      if (entry.lossUrl && !entry.loss) {
        const l = await fetch(entry.lossUrl);
        if (l.ok) entry.loss = parseLossCsv(await l.text());
      }
    }
    disposeCurrent();
    const run = entry.run ?? loadImageModel(device, file!, entry.name);
    current = { entry, run };
    const params = run.arena.params.reduce((s, [, p]) => s + p.size, 0);
    const samplers = discoverSamplers(run);
    hooks.samplers = samplers;
    hooks.model = { name: entry.name, process: run.process.name, prediction: run.process.prediction, parameters: params, step: run.step, weights: run.weights, samplers: samplers.map((s) => s.name) };
    ui.modelInfo.textContent = `${describeProcess(run.cfg)} · ${entry.source === 'trained' ? 'trained here, ' : ''}${run.cfg.preset} U-Net, ${(params / 1000).toFixed(0)}k parameters · ${run.step} training steps (${run.weights === 'ema' ? 'EMA weights' : 'parameters'})`;
    fillSamplers(samplers, run);
    showLoss(entry);
    status(`${entry.name} loaded: pick a sampler and a seed, then Sample`, 0);
    setState('ready');
  } catch (e) {
    showError(e);
    status('could not load the model');
    setState(device ? 'ready' : 'error');
    if (hooks.lost) setState('lost');
    throw e;
  }
}

// ------------------------------------------------------------------ dropped files

/** Files of a drop, folders opened one level down (a run folder holds its files flat). */
async function droppedFiles(dt: DataTransfer): Promise<{ files: File[]; folder: string | null }> {
  const files: File[] = [];
  let folder: string | null = null;
  const items = Array.from(dt.items ?? []);
  const entriesOf = items.map((it) => (it.kind === 'file' ? (it as any).webkitGetAsEntry?.() : null));
  if (entriesOf.some((e) => e?.isDirectory)) {
    for (const e of entriesOf) {
      if (!e) continue;
      if (e.isDirectory) {
        folder ??= e.name;
        const children: any[] = await new Promise((ok, fail) => e.createReader().readEntries(ok, fail));
        for (const c of children) if (c.isFile) files.push(await new Promise<File>((ok, fail) => c.file(ok, fail)));
      } else if (e.isFile) files.push(await new Promise<File>((ok, fail) => e.file(ok, fail)));
    }
  } else files.push(...Array.from(dt.files));
  return { files, folder };
}

async function takeFiles(files: File[], folder: string | null) {
  const by = (re: RegExp) => files.find((f) => re.test(f.name));
  const st = by(/^checkpoint\.safetensors$/i) ?? by(/^model\.safetensors$/i) ?? by(/\.safetensors$/i);
  if (!st) throw new Error(`no .safetensors among the dropped files (${files.map((f) => f.name).join(', ') || 'none'}): drop a run folder's checkpoint.safetensors or a model folder's model.safetensors`);
  const rel = (st as File & { webkitRelativePath?: string }).webkitRelativePath;
  const name = folder ?? (rel && rel.includes('/') ? rel.split('/')[0] : st.name);
  const file = decodeSafetensors(new Uint8Array(await st.arrayBuffer()), st.name);
  const cfgFile = by(/^config\.json$/i);
  // the config travels in the checkpoint's metadata; a file without it may take it from config.json
  if (file.metadata.config === undefined && cfgFile) file.metadata.config = await cfgFile.text();
  const lossFile = by(/^loss\.csv$/i);
  const loss = lossFile ? parseLossCsv(await lossFile.text()) : undefined;
  let config: Partial<ImageConfig> | null = null;
  try {
    config = JSON.parse(file.metadata.config ?? 'null');
  } catch {
    /* loadImageModel names the problem */
  }
  addEntry({ name, source: 'dropped', file, bytes: st.size, config, loss });
  await selectModel(name);
}

function parseLossCsv(text: string): { steps: number[]; losses: number[] } | undefined {
  const steps: number[] = [];
  const losses: number[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    const [s, l] = line.split(',').map(Number);
    if (Number.isFinite(s) && Number.isFinite(l)) {
      steps.push(s);
      losses.push(l);
    }
  }
  return steps.length ? { steps, losses } : undefined;
}

let lossView: { finalize(): void } | null = null;

function showLoss(entry: ModelEntry) {
  ui.lossCard.hidden = !entry.loss;
  if (!entry.loss) return;
  const { steps, losses } = entry.loss;
  ui.lossCaption.textContent = `${entry.name} · ${steps.length} logged values · last ${fmt(losses[losses.length - 1], 4)}`;
  const spec = charts.lossCurveSpec(steps, losses, { size: [700, 150], xlabel: 'training step', ylabel: 'loss', logY: true });
  lossView?.finalize(); // release the last view's listeners and timers before drawing anew
  lossView = null;
  embed(ui.lossChart, spec as any, { actions: false, renderer: 'svg' }).then((r) => (lossView = r), (e) => showError(e));
}

// ------------------------------------------------------------------ samplers

/**
 * The samplers the model's process allows, and what each takes: makePlan is asked with every
 * registered sampler (a sampler a process does not allow throws), and whether a plan's length moves
 * with `steps` or `stepsPerLevel`, and its coefficients with η, says which controls apply.
 */
function discoverSamplers(run: LoadedImageRun): SamplerInfo[] {
  const proc = run.process;
  const plan = (name: string, o: PlanOptions) => imageSamplers.makePlan(name, proc, samplerDefaults(proc, name, o));
  const out: SamplerInfo[] = [];
  const S = Math.min(4, proc.N);
  for (const [name, help] of Object.entries(imageSamplers.IMAGE_SAMPLERS)) {
    let base;
    try {
      base = plan(name, { steps: S, stepsPerLevel: 1 });
    } catch {
      continue;
    }
    const len = (o: PlanOptions) => {
      try {
        return plan(name, { steps: S, stepsPerLevel: 1, ...o }).steps.length;
      } catch {
        return base.steps.length;
      }
    };
    const stepsOption = proc.N > 1 && len({ steps: S - 1 || 1 }) !== base.steps.length ? 'steps' : len({ stepsPerLevel: 2 }) !== base.steps.length ? 'stepsPerLevel' : null;
    let takesEta = false;
    try {
      takesEta = JSON.stringify(plan(name, { steps: S, stepsPerLevel: 1, eta: 1 }).steps) !== JSON.stringify(base.steps);
    } catch {
      /* η not taken */
    }
    out.push({ name, help, stepsOption, takesEta });
  }
  return out;
}

function fillSamplers(list: SamplerInfo[], run: LoadedImageRun) {
  const keep = ui.sampler.value;
  ui.sampler.innerHTML = '';
  for (const s of list) {
    const o = new Option(s.name, s.name);
    o.title = s.help;
    ui.sampler.add(o);
  }
  // the CLI's default: annealed Langevin for a score model, DDIM otherwise
  const preferred = run.process.prediction === 'score' ? 'annealed' : 'ddim';
  ui.sampler.value = list.some((s) => s.name === keep) ? keep : list.some((s) => s.name === preferred) ? preferred : list[0]?.name ?? '';
  syncSamplerControls(true);
}

function samplerInfo(name = ui.sampler.value): SamplerInfo | undefined {
  return hooks.samplers.find((s) => s.name === name);
}

function syncSamplerControls(resetSteps: boolean) {
  const s = samplerInfo();
  ui.samplerHint.textContent = s?.help.replace(/--(\w+)/g, '$1') ?? '';
  ui.stepsRow.hidden = !s?.stepsOption;
  ui.etaRow.hidden = !s?.takesEta;
  if (s?.stepsOption === 'stepsPerLevel') ui.stepsLabel.textContent = 'Steps per level';
  else ui.stepsLabel.textContent = 'Steps';
  if (resetSteps && s && current) {
    const N = current.run.process.N;
    ui.steps.max = String(s.stepsOption === 'steps' ? N : 100);
    ui.steps.value = String(s.stepsOption === 'steps' ? Math.min(50, N) : 3);
  }
  showPlan();
}

function readOptions(o: Partial<SampleOptions>): SampleOptions {
  return {
    sampler: o.sampler ?? ui.sampler.value,
    steps: o.steps ?? Number(ui.steps.value),
    eta: o.eta ?? Number(ui.eta.value),
    seed: o.seed ?? Number(ui.seed.value),
    n: o.n ?? Number(ui.n.value),
    previewEvery: o.previewEvery ?? Number(ui.previewEvery.value),
  };
}

function planOptions(o: SampleOptions): PlanOptions {
  const s = samplerInfo(o.sampler);
  const p: PlanOptions = {};
  if (s?.stepsOption === 'steps') p.steps = o.steps;
  if (s?.stepsOption === 'stepsPerLevel') p.stepsPerLevel = o.steps;
  if (s?.takesEta) p.eta = o.eta;
  return p;
}

/** The plan the options make (its length is the number of network evaluations per image). */
function showPlan() {
  if (!current) return;
  try {
    const o = readOptions({});
    const proc = current.run.process;
    const plan = imageSamplers.makePlan(o.sampler, proc, samplerDefaults(proc, o.sampler, planOptions(o)));
    ui.planInfo.textContent = `${plan.steps.length} network evaluations per image${plan.clip ? ', x̂₀ clipped to the data range' : ''}`;
    ui.planInfo.classList.remove('bad');
  } catch (e) {
    ui.planInfo.textContent = (e as Error).message;
    ui.planInfo.classList.add('bad');
  }
}

// ------------------------------------------------------------------ sampling

async function sample(partial: Partial<SampleOptions>): Promise<NonNullable<typeof hooks.result>> {
  if (!device || hooks.lost) throw new DeviceError(hooks.lost || 'no WebGPU device');
  if (!current) throw new Error('no model loaded');
  if (hooks.state === 'sampling' || hooks.state === 'loading-model') throw new Error(`busy (${hooks.state})`);
  const o = readOptions(partial);
  ui.sampler.value = o.sampler;
  syncSamplerControls(false);
  for (const [el, v] of [[ui.steps, o.steps], [ui.eta, o.eta], [ui.seed, o.seed], [ui.previewEvery, o.previewEvery]] as const) el.value = String(v);
  if (Array.from(ui.n.options).some((x) => x.value === String(o.n))) ui.n.value = String(o.n);
  showPlan();
  const { run } = current;
  const proc = run.process;
  const shape = [...run.cfg.shape];
  const range = proc.dataRange === '[0,1]' ? ([0, 1] as const) : ([-1, 1] as const);
  ui.error.hidden = true;
  setState('sampling');
  const planOpts = planOptions(o);
  abort = new AbortController();
  hooks.previews = [];
  hooks.result = null;
  const t0 = performance.now();
  try {
    const plan = imageSamplers.makePlan(o.sampler, proc, samplerDefaults(proc, o.sampler, planOpts)); // validates first
    const total = plan.steps.length;
    hooks.progress = { step: 0, total, nfe: 0, stepsPerSec: 0, seconds: 0 };
    // the rate counts from the first step's end: that step also compiles the pipelines
    let first: { step: number; t: number } | null = null;
    const progress = (step: number) => {
      const t = performance.now();
      if (!first) first = { step, t };
      const rate = step > first.step ? (step - first.step) / ((t - first.t) / 1000) : 0;
      hooks.progress = { step, total, nfe: step, stepsPerSec: rate, seconds: (t - t0) / 1000 };
      ui.stat.step.textContent = `${step} / ${total}`;
      ui.stat.nfe.textContent = String(step);
      ui.stat.rate.textContent = rate ? rate.toFixed(rate < 10 ? 2 : 1) : '…';
      ui.stat.time.textContent = ((t - t0) / 1000).toFixed(1);
      const idx = plan.steps[Math.min(step, total) - 1]?.index;
      if (idx !== undefined) ui.stat.noise.textContent = fmt(proc.marginal(idx).std);
      status(`${plan.name}: step ${step} of ${total}`, step / total);
    };
    status(`${plan.name}: compiling the kernels and taking the first step…`, 0);
    await nextFrame();
    const r = await sampleImages(device, run.net, proc, shape, {
      sampler: o.sampler, n: o.n, seed: o.seed, batch: o.n, ...planOpts,
      signal: abort.signal,
      onProgress: (d) => progress(d),
      preview: {
        every: Math.max(1, Math.round(o.previewEvery)),
        onPreview: async (p) => {
          const s = stats(p.x0), sx = stats(p.x);
          hooks.previews.push({ step: p.step, nfe: p.step, x0Mean: s.mean, x0Std: s.std, xStd: sx.std, x0: p.x0 });
          drawGrid(ui.xCanvas, p.x, o.n, shape, range);
          drawGrid(ui.x0Canvas, p.x0, o.n, shape, range);
          ui.xCaption.textContent = `after step ${p.step}`;
          ui.x0Caption.textContent = `at step ${p.step}`;
          progress(p.step);
          await nextFrame(); // let the page paint the new grids
        },
      },
    });
    drawGrid(ui.xCanvas, r.samples, o.n, shape, range);
    ui.xCaption.textContent = `the samples, ${r.nfe} network evaluations each`;
    progress(total);
    const secs = (performance.now() - t0) / 1000;
    hooks.result = { samples: r.samples, nfe: r.nfe, seconds: secs, options: o, shape };
    status(`done: ${o.n} images, ${r.nfe} network evaluations each, in ${secs.toFixed(1)} s (${hooks.progress.stepsPerSec.toFixed(2)} steps/s)`, 1);
    setState('ready');
    return hooks.result;
  } catch (e) {
    if (hooks.lost || e instanceof DeviceError) {
      // the device's own lost promise names the cause best; it resolves a moment after the error
      if (device) await Promise.race([device.device.lost, new Promise((r) => setTimeout(r, 300))]);
      showLost((e as Error).message);
    } else if ((e as Error)?.name === 'AbortError') {
      status(`stopped at step ${hooks.progress.step} of ${hooks.progress.total}`);
      setState('ready');
    } else {
      showError(e);
      status('sampling failed');
      setState('ready');
    }
    throw e;
  } finally {
    abort = null;
  }
}

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    s2 += a[i] * a[i];
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / a.length - mean * mean)) };
}

/** A square-ish grid of n images at one canvas pixel per image pixel (CSS scales it, pixelated). */
function drawGrid(canvas: HTMLCanvasElement, data: Float32Array, n: number, shape: number[], [lo, hi]: readonly [number, number]) {
  const [C, H, W] = shape;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const pad = 1;
  const w = cols * (W + pad) + pad, h = rows * (H + pad) + pad;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  img.data.fill(255);
  const to8 = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (W + pad), oy = pad + Math.floor(k / cols) * (H + pad);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = ((oy + y) * w + ox + x) * 4;
        for (let c = 0; c < 3; c++) img.data[o + c] = to8(data[k * C * H * W + (C === 3 ? c : 0) * H * W + y * W + x]);
      }
    }
  }
  ctx.putImageData(img, 0, 0);
}

// ------------------------------------------------------------------ training in the page

let trainingData: { images: Uint8Array; n: number; shape: [number, number, number] } | null = null;

async function fetchTrainingData() {
  try {
    const r = await fetch('../data/index.json');
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const d = await r.json();
    const img = await fetch(`../data/${d.images}`);
    if (!img.ok) throw new Error(`${d.images}: HTTP ${img.status}`);
    const images = new Uint8Array(await img.arrayBuffer());
    const shape = d.shape as [number, number, number];
    if (images.length !== d.n * shape[0] * shape[1] * shape[2]) throw new Error(`${d.images}: ${images.length} bytes for ${d.n} images of [${shape}]`);
    trainingData = { images, n: d.n, shape };
    ui.trainHint.textContent = `A DDPM U-Net trained on ${d.n} Fashion-MNIST training images served with the page; samples of the model in training (DDIM-10, current weights) every few hundred steps.`;
  } catch (e) {
    trainingData = null;
    ui.trainHint.textContent = `no training data is served here (${(e as Error).message}): build the pages on a machine with Debian's dataset-fashion-mnist`;
  }
}

const TINY_UNET = { base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: false };

function readTrainOptions(o: Partial<TrainOptions>): TrainOptions {
  return {
    unet: o.unet ?? (ui.trainUnet.value as TrainOptions['unet']),
    steps: o.steps ?? Number(ui.trainSteps.value),
    batchSize: o.batchSize ?? Number(ui.trainBatch.value),
    lr: o.lr ?? Number(ui.trainLr.value),
    previewEvery: o.previewEvery ?? Number(ui.trainPreview.value),
    nTrain: o.nTrain,
    seed: o.seed ?? 0,
  };
}

/**
 * The CLI's image training, in the page: the run's config, model and loss from imageRecipes
 * (as `scoregpu train --data fashion-mnist --model unet --process ddpm`), the bytes on the device
 * (the Trainer gathers and scales each batch there), one recorded step replayed; the loss read every
 * few steps and drawn; a DDIM-10 grid from the current weights every `previewEvery` steps. The model
 * then joins the menu, to be sampled like any other.
 */
async function train(partial: Partial<TrainOptions>) {
  if (!device || hooks.lost) throw new DeviceError(hooks.lost || 'no WebGPU device');
  if (!trainingData) throw new Error('no training data is served with this page');
  if (hooks.state === 'sampling' || hooks.state === 'training' || hooks.state === 'loading-model') throw new Error(`busy (${hooks.state})`);
  const o = readTrainOptions(partial);
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new Error(`training steps must be a positive integer, got ${o.steps}`);
  ui.trainBox.open = true;
  ui.error.hidden = true;
  setState('training');
  abort = new AbortController();
  const signal = abort.signal;
  const { images, shape } = trainingData;
  const n = Math.min(trainingData.n, o.nTrain ?? trainingData.n);
  const D = shape[0] * shape[1] * shape[2];
  const cfg = imageRecipes.imageConfig({
    process: 'ddpm', shape, preset: 'small', unet: o.unet === 'tiny' ? TINY_UNET : {}, steps: o.steps, batchSize: o.batchSize, seed: o.seed, nTrain: n,
    emaDecay: 0, // the grids and the model come from the current weights: an EMA of a short run lags
    optim: defaultAdam({ lr: o.lr, warmup: Math.min(200, Math.floor(o.steps / 10)), clipNorm: 1, schedule: 'cosine', decaySteps: o.steps, lrEndFactor: 0.1 }),
  });
  const { net, arena, process } = imageRecipes.buildImageModel(device, cfg);
  const range = process.dataRange === '[0,1]' ? ([0, 1] as const) : ([-1, 1] as const);
  const trainer = new Trainer(device, arena, imageRecipes.imageLoss(device, process, net), {
    values: images.subarray(0, n * D),
    rowShape: [...shape],
    ...(range[0] === 0 ? { scale: 1 / 255, shift: 0 } : { scale: 2 / 255, shift: -1 }),
  }, imageRecipes.imageTrainerConfig(cfg, Math.max(5, Math.min(25, Math.round(o.steps / 100)))));
  const T = hooks.training = { step: 0, steps: o.steps, imgPerSec: 0, losses: [] as { step: number; loss: number }[], samplesAt: [] as number[] };
  const name = `trained-${o.unet}-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}`;
  const t0 = performance.now();
  let lastChart = 0, lastPreview = 0;
  const preview = async (step: number) => {
    const r = await sampleImages(device!, net, process, [...shape], { sampler: 'ddim', steps: 10, n: 16, seed: 0, batch: 16 });
    drawGrid(ui.x0Canvas, r.samples, 16, [...shape], range);
    ui.x0Caption.textContent = `· step ${step}, DDIM-10`;
    T.samplesAt.push(step);
  };
  ui.xCaption.textContent = '· training images';
  drawGrid(ui.xCanvas, Float32Array.from(images.subarray(0, 16 * D), (v) => range[0] + ((range[1] - range[0]) * v) / 255), 16, [...shape], range);
  status(`training: compiling the kernels and taking the first step…`, 0);
  await nextFrame();
  try {
    await trainer.run(o.steps, async (step, loss) => {
      signal.throwIfAborted();
      T.step = step;
      T.losses.push({ step, loss });
      const secs = (performance.now() - t0) / 1000;
      T.imgPerSec = (step * o.batchSize) / secs;
      status(`training: step ${step} of ${o.steps} · loss ${fmt(loss, 4)} · ${T.imgPerSec.toFixed(1)} img/s`, step / o.steps);
      if (performance.now() - lastChart > 1000 || step === o.steps) {
        lastChart = performance.now();
        showLoss({ name: 'the model in training', source: 'trained', loss: { steps: T.losses.map((e) => e.step), losses: T.losses.map((e) => e.loss) } });
      }
      // losses are read every few steps: a grid when a multiple of previewEvery was passed, and at the end
      if (o.previewEvery > 0 && (Math.floor(step / o.previewEvery) > Math.floor(lastPreview / o.previewEvery) || step === o.steps)) {
        lastPreview = step;
        await preview(step);
      }
      await nextFrame();
    });
  } catch (e) {
    if ((e as Error)?.name !== 'AbortError') {
      trainer.dispose();
      if (hooks.lost || e instanceof DeviceError) showLost((e as Error).message);
      else {
        showError(e);
        status('training failed');
        setState('ready');
      }
      throw e;
    }
  } finally {
    abort = null;
  }
  await device.sync();
  const steps = trainer.step;
  trainer.dispose();
  for (const t of [trainer.optimizer.m, trainer.optimizer.v, trainer.ema?.shadow]) if (t && !t.disposed) t.dispose();
  const run: LoadedImageRun = { cfg, net, arena, process, step: steps, weights: 'params' };
  const loss = { steps: T.losses.map((e) => e.step), losses: T.losses.map((e) => e.loss) };
  addEntry({ name, source: 'trained', run, loss, config: cfg });
  status(`trained ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s (${T.imgPerSec.toFixed(1)} img/s); ${name} is in the model menu`, 1);
  setState('ready');
  await selectModel(name);
  return { steps, imgPerSec: T.imgPerSec, losses: T.losses, name };
}

// ------------------------------------------------------------------ start

ui.model.addEventListener('change', () => selectModel(ui.model.value).catch(() => {}));
ui.sampler.addEventListener('change', () => syncSamplerControls(true));
for (const el of [ui.steps, ui.eta]) el.addEventListener('input', showPlan);
ui.sample.addEventListener('click', () => sample({}).catch(() => {}));
ui.train.addEventListener('click', () => train({}).catch(() => {}));
ui.stop.addEventListener('click', () => hooks.stop());
ui.file.addEventListener('change', () => {
  const files = Array.from(ui.file.files ?? []);
  if (files.length) takeFiles(files, null).catch((e) => showError(e));
  ui.file.value = '';
});
ui.drop.addEventListener('dragover', (ev) => {
  ev.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (ev) => {
  ev.preventDefault();
  ui.drop.classList.remove('over');
  if (!ev.dataTransfer || ui.drop.classList.contains('disabled')) return;
  droppedFiles(ev.dataTransfer)
    .then(({ files, folder }) => takeFiles(files, folder))
    .catch((e) => showError(e));
});

async function start() {
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
    ui.adapter.textContent = `WebGPU: ${hooks.adapter}${i.isFallback ? ' (fallback adapter)' : ''}`;
    // Losing the device (driver reset, GPU process crash, the tab evicted, device.destroy()) ends
    // every chain: the library throws DeviceError from its next sync; the page says what happened.
    device.device.lost.then((l) => showLost(`${l.reason}${l.message ? `: ${l.message}` : ''}`));
  } catch (e) {
    showError(e);
    ui.adapter.textContent = 'no WebGPU adapter';
    status('no WebGPU device');
    device = null;
    setState('error');
    return;
  }
  await Promise.all([listShipped(), fetchTrainingData()]);
  setState('ready');
  if (entries.length) {
    await selectModel(entries[0].name).catch(() => {});
  } else status('drop a run folder or a model.safetensors to begin', 0);
}
void start();
