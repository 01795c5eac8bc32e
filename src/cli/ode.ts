// The probability-flow ODE from the command line: `scoregpu sample/eval --sampler ode` (--method
// rk45|euler|heun, --rtol/--atol, --steps) and `scoregpu eval --bpd` (bits/dim of test images by the
// exact likelihood, RUN/eval_bpd.json). Score-SDE models (ve, vp, subvp), and DDPM (linear β) and NCSN
// models through the SDE they discretise (as the PC sampler takes them: src/score/sampling/pc/context.ts).
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { loadImageRun } from '../train/image.js';
import { loadImageSet } from '../data/images.js';
import type { Sde } from '../score/sde/index.js';
import { pcContext } from '../score/sampling/pc/context.js';
import type { DiscreteProcess } from '../score/processes/process.js';
import { ODE_METHODS, DEFAULT_ODE_STEPS, isOdeMethod, type OdeMethod } from '../score/sampling/ode/index.js';
import { sampleFlowImages, SAMPLING_EPS, type Conditioning } from '../score/sampling/ode/flow.js';
import { bitsPerDim, LIKELIHOOD_EPS, PROBES, rangeOffset, type Probe } from '../score/likelihood.js';
import { Progress } from '../io/progress.js';
import { writeFileAtomic } from '../io/fs.js';

const list = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k} — ${v}`).join('; ');

/** --method/--rtol/--atol of `sample` and `eval` (--steps is shared with the other samplers). */
export const ODE_OPTS: OptSpec = {
  method: { type: 'string', help: `ode: the solver (${list(ODE_METHODS)})`, default: 'rk45' },
  rtol: { type: 'number', help: 'ode (rk45) and --bpd: relative tolerance', default: 1e-5 },
  atol: { type: 'number', help: 'ode (rk45) and --bpd: absolute tolerance', default: 1e-5 },
};

export const BPD_OPTS: OptSpec = {
  bpd: { type: 'boolean', help: 'images, score SDEs: bits/dim of --n test images (default 1000) by the probability-flow ODE\'s exact likelihood → RUN/eval_bpd.json', default: false },
  probe: { type: 'string', help: `--bpd: Hutchinson–Skilling probe (${PROBES.join(', ')})`, default: 'rademacher' },
};

/** The run's SDE and the network's input at t (a one-line error for processes with no SDE behind them). */
export function sdeFor(process: DiscreteProcess, what: string): { sde: Sde; cond: Conditioning } {
  const { sde, cond } = pcContext(process, process.N, what);
  return { sde, cond };
}

export interface OdeSettings {
  method: OdeMethod;
  rtol: number;
  atol: number;
  steps?: number;
  denoise: boolean;
}

export function odeSettings(a: Record<string, any>): OdeSettings {
  const method = String(a.method ?? 'rk45');
  if (!isOdeMethod(method)) throw new Error(`unknown --method '${method}'; valid: ${Object.keys(ODE_METHODS).join(', ')}`);
  const rtol = a.rtol ?? 1e-5, atol = a.atol ?? 1e-5;
  if (!(rtol > 0 && atol > 0)) throw new Error(`--rtol and --atol must be > 0, got ${rtol} and ${atol}`);
  if (method === 'rk45' && a.steps !== undefined) throw new Error('--steps is for --method euler or heun; rk45 chooses its steps (set --rtol/--atol)');
  const steps = method === 'rk45' ? undefined : a.steps ?? DEFAULT_ODE_STEPS;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) throw new Error(`--steps must be a positive integer, got ${a.steps}`);
  return { method, rtol, atol, steps, denoise: a.denoise !== false };
}

/** A name for messages and a file-name tag: ode-rk45, ode-heun50, …; -nodenoise when asked. */
export function odeName(s: OdeSettings): { name: string; tag: string } {
  const tol = s.method === 'rk45' ? `rtol ${s.rtol}, atol ${s.atol}` : `${s.steps} steps`;
  const tag = `ode-${s.method}${s.steps ?? ''}` + (s.method === 'rk45' && (s.rtol !== 1e-5 || s.atol !== 1e-5) ? `-tol${s.rtol}` : '') + (s.denoise ? '' : '-nodenoise');
  return { name: `probability-flow ODE (${s.method}, ${tol}${s.denoise ? ', denoised' : ''})`, tag };
}

/** n images by the probability-flow ODE with a progress bar over [ε, T] per batch. */
export async function drawOdeImages(device: Device, net: Parameters<typeof sampleFlowImages>[1], process: DiscreteProcess, shape: readonly number[], n: number, a: Record<string, any>) {
  const { sde, cond } = sdeFor(process, 'ode');
  const s = odeSettings(a);
  const B = Math.min(n, a.batch ?? 64), batches = Math.ceil(n / B);
  const { name, tag } = odeName(s);
  const bar = new Progress({ total: 100 * batches, label: `sample ${name}, n=${n}` });
  let shown = 0;
  const r = await sampleFlowImages(device, net, sde, {
    n, shape, cond, seed: a.seed ?? 0, batch: B, method: s.method, rtol: s.rtol, atol: s.atol, steps: s.steps, denoise: s.denoise, eps: SAMPLING_EPS,
    onProgress: (k, K, frac, nfe) => {
      const at = Math.round(100 * (k + Math.min(1, frac)));
      bar.tick(at - shown, { batch: `${k + 1}/${K}`, nfe });
      shown = at;
    },
  });
  bar.done();
  return { ...r, name, tag, settings: s };
}

/** `scoregpu eval --run DIR --bpd`: bits/dim of the first n test images, mean ± standard error. */
export async function evalBpdCommand(device: Device, a: Record<string, any>): Promise<number> {
  const n: number = a.n ?? 1000;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--n must be a positive integer, got ${a.n}`);
  const probe = String(a.probe ?? 'rademacher') as Probe;
  if (!PROBES.includes(probe)) throw new Error(`unknown --probe '${probe}'; valid: ${PROBES.join(', ')}`);
  const rtol = a.rtol ?? 1e-5, atol = a.atol ?? 1e-5;
  if (!(rtol > 0 && atol > 0)) throw new Error(`--rtol and --atol must be > 0, got ${rtol} and ${atol}`);
  const run = loadImageRun(device, a.run, a.weights === 'params' ? 'params' : 'ema');
  const { sde, cond } = sdeFor(run.process, 'bits/dim (--bpd)');
  const set = loadImageSet(run.cfg.data, { seed: run.cfg.seed });
  if (!(set.test instanceof Uint8Array)) throw new Error(`bits/dim needs 8-bit images; ${run.cfg.data} holds floating-point pixels`);
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  const avail = set.test.length / D;
  if (n > avail) throw new Error(`--n ${n}: ${run.cfg.data} has ${avail} test images`);
  const B = Math.min(n, a.batch ?? 64), batches = Math.ceil(n / B);
  const bar = new Progress({ total: 100 * batches, label: `bits/dim (${sde.name}, ${probe} probe), n=${n}` });
  let shown = 0, k = 0;
  const r = await bitsPerDim(device, run.net, sde, set.test.subarray(0, n * D), set.shape, {
    probe, rtol, atol, cond, seed: a.seed ?? 0, batch: B, eps: LIKELIHOOD_EPS,
    frozen: run.arena.params.map(([, p]) => p.value),
    onStep: (t, nfe) => {
      const at = Math.round(100 * (k + Math.min(1, (t - LIKELIHOOD_EPS) / (sde.T - LIKELIHOOD_EPS))));
      bar.tick(at - shown, { batch: `${k + 1}/${batches}`, nfe });
      shown = at;
    },
    onBatch: () => void k++,
  });
  bar.done();
  const mean = r.bpd.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(r.bpd.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  const report = {
    run: a.run, data: run.cfg.data, process: run.process.name, sde: sde.describe(), step: run.step, weights: run.weights,
    n, images: `the first ${n} test images`, bpd: mean, stderr: sd / Math.sqrt(n), sd,
    nfeMean: r.nfe.reduce((s, v) => s + v, 0) / r.nfe.length, nfePerBatch: r.nfe, batch: B,
    seconds: r.seconds, secondsPerImage: r.seconds / n,
    solver: 'rk45', rtol, atol, eps: LIKELIHOOD_EPS, probe, seed: a.seed ?? 0,
    dequantisation: 'uniform: (k + u)/256', offset: rangeOffset(sde.dataRange), dataRange: sde.dataRange,
    perImage: Array.from(r.bpd, (v) => Number(v.toFixed(5))),
  };
  writeFileAtomic(join(a.run, 'eval_bpd.json'), JSON.stringify(report, null, 2) + '\n');
  const { perImage, ...shown2 } = report;
  void perImage;
  console.log(JSON.stringify(shown2, null, 2));
  return 0;
}
