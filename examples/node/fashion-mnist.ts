// Image generation from a script, without the CLI (in a project: import from 'scoregpu/node').
//
//   npm run example:fashion-mnist                      # 16 images from the shipped DDPM model (DDIM, 50 steps)
//   npm run example:fashion-mnist -- --train 300       # … and train a model of your own for 300 steps first
//
// Writes PNG grids to examples/node/out/. Keep `device` referenced for as long as you use the GPU.
import { join } from 'node:path';
import { mkdirSync, existsSync } from 'node:fs';
import { createDevice, loadImageRun, sampleImages, trainImage, imageRecipes, imageGrid, loadImageSet, writeFileAtomic } from '../../src/node.js';

// paths from the repository root (npm runs scripts there; the script itself runs from a bundle)
const root = process.env.INIT_CWD ?? process.cwd();
const out = join(root, 'examples/node/out');
mkdirSync(out, { recursive: true });
const argv = process.argv.slice(2);
const trainSteps = argv.includes('--train') ? Number(argv[argv.indexOf('--train') + 1]) : 0;
if (!(Number.isInteger(trainSteps) && trainSteps >= 0)) throw new Error(`--train needs a number of steps, got '${argv[argv.indexOf('--train') + 1]}'`);

const device = await createDevice();

/** Save images [n, C, H, W] in the process's data range as a grid. */
function grid(file: string, x: Float32Array, shape: readonly number[], range: '[0,1]' | '[-1,1]', title: string) {
  const n = x.length / (shape[0] * shape[1] * shape[2]);
  writeFileAtomic(file, imageGrid(x, [n, shape[0], shape[1], shape[2]], 8, { range, title, scale: 2 }));
  console.log(`wrote ${file}`);
}

// 1. A released model: weights in PyTorch layout plus its config; DDIM with 50 steps, on the GPU.
const shipped = join(root, 'models/fmnist-ddpm-small');
if (existsSync(shipped)) {
  const model = loadImageRun(device, shipped);
  const t0 = performance.now();
  const r = await sampleImages(device, model.net, model.process, model.cfg.shape, { sampler: 'ddim', steps: 50, n: 16, seed: 1 });
  console.log(`16 images in ${((performance.now() - t0) / 1000).toFixed(1)} s (${r.nfe} network evaluations each)`);
  grid(join(out, 'shipped-ddpm.png'), r.samples, model.cfg.shape, model.process.dataRange, 'fmnist-ddpm-small, DDIM 50');
}

// 2. Your own: the small U-Net preset with DDPM's ε-loss; a checkpoint every 100 steps (resumable).
if (trainSteps > 0) {
  const set = loadImageSet('fashion-mnist');
  const cfg = imageRecipes.imageConfig({ data: 'fashion-mnist', process: 'ddpm', steps: trainSteps, batchSize: 32 });
  const run = await trainImage(device, cfg, {
    out: join(out, 'run'), set, checkpointEvery: 100, logEvery: 50,
    onLog: (step, loss, ips) => console.log(`step ${step}: loss ${loss.toFixed(4)}, ${ips.toFixed(1)} img/s`),
  });
  const r = await sampleImages(device, run.net, run.process, run.cfg.shape, { sampler: 'ddim', steps: 50, n: 16, seed: 1 });
  grid(join(out, 'own-ddpm.png'), r.samples, run.cfg.shape, run.process.dataRange, `own model after ${trainSteps} steps (training weights)`);
}
await device.sync();
