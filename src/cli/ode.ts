// The probability-flow ODE from the command line: `scoregpu sample/eval --sampler ode` (--method
// rk45|euler|heun, --rtol/--atol, --steps) and the options of `scoregpu eval --bpd` (bits/dim by the
// exact likelihood: ./eval_bpd.ts). Score-SDE models (ve, vp, subvp), and DDPM (linear β) and NCSN
// models through the SDE they discretise (as the PC sampler takes them: src/score/sampling/pc/context.ts).
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import type { Sde } from '../score/sde/index.js';
import { pcContext } from '../score/sampling/pc/context.js';
import type { DiscreteProcess } from '../score/processes/process.js';
import { ODE_METHODS, DEFAULT_ODE_STEPS, isOdeMethod, type OdeMethod } from '../score/sampling/ode/index.js';
import { sampleFlowImages, SAMPLING_EPS, type Conditioning } from '../score/sampling/ode/flow.js';
import { PROBES } from '../score/likelihood.js';
import { Progress } from '../io/progress.js';

const list = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k} — ${v}`).join('; ');

/** --method/--rtol/--atol of `sample` and `eval` (--steps is shared with the other samplers). */
export const ODE_OPTS: OptSpec = {
  method: { type: 'string', help: `ode: the solver (${list(ODE_METHODS)})`, default: 'rk45' },
  rtol: { type: 'number', help: 'ode (rk45) and --bpd: relative tolerance', default: 1e-5 },
  atol: { type: 'number', help: 'ode (rk45) and --bpd: absolute tolerance', default: 1e-5 },
};

export const BPD_OPTS: OptSpec = {
  bpd: { type: 'boolean', help: 'images, score SDEs: bits/dim of --n test images (default 1000) by the probability-flow ODE\'s exact likelihood, --batch images per solve → RUN/eval_bpd.json; resumes from RUN/eval_bpd.batches.json (same settings)', default: false },
  probe: { type: 'string', help: `--bpd: Hutchinson–Skilling probe (${PROBES.join(', ')})`, default: 'rademacher' },
  fresh: { type: 'boolean', help: '--bpd: discard RUN/eval_bpd.batches.json (the images already done, kept so a long evaluation resumes where it stopped) and start over', default: false },
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
