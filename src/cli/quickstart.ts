// The README's main command: train the default toy model, sample it, evaluate, write pictures.
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { trainCommand, TRAIN_OPTS } from './train.js';
import { sampleRun } from './sample.js';
import { evaluateRun } from './eval.js';
import { runPaths } from './pictures.js';

export const QUICKSTART_OPTS: OptSpec = {
  ...TRAIN_OPTS,
  out: { type: 'string', help: 'run directory', default: 'runs/quickstart' },
  n: { type: 'number', help: 'samples to draw', default: 2000 },
};

export async function quickstartCommand(device: Device, a: Record<string, any>): Promise<number> {
  console.log(`scoregpu quickstart on ${device.info.description || device.info.vendor || 'WebGPU'}: ${a.loss} on ${a.data} → ${a.out}`);
  const code = await trainCommand(device, a);
  if (code) return code;
  const s = await sampleRun(device, { run: a.out, n: a.n, weights: 'ema' });
  console.log(`sampled ${a.n} points in ${s.secs.toFixed(1)} s`);
  const m = await evaluateRun(device, { run: a.out, n: a.n });
  const p = runPaths(a.out);
  console.log(`energy distance ${m.energyDistance.toExponential(3)} (noise floor ${m.floor.energyDistance.toExponential(3)}, ratio ${m.ratio.energyDistance.toFixed(2)})`);
  console.log(`MMD ${m.mmd.toExponential(3)} (floor ${m.floor.mmd.toExponential(3)}), sliced W2 ${m.sw2.toExponential(3)} (floor ${m.floor.sw2.toExponential(3)})`);
  console.log(`pictures: ${p.samplesPng} ${p.scorePng} ${p.lossPng}; metrics: ${p.metrics}`);
  return 0;
}
