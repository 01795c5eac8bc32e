// `scoregpu eval --run DIR` for image models: draw n samples with the chosen sampler (EMA weights),
// score them with the Fashion-MNIST classifier against real held-out images (Fréchet distance and
// its real-vs-real floor at the same n, class histogram, confidence, total variation), optionally
// beside degraded real images; write eval_<sampler>.json, the samples (.npy) and a grid of the first 64
// into the run directory — or, for a model folder (models/NAME: weights without a checkpoint, shipped
// in the repository and not to be written into), into runs/eval/NAME; --out overrides both.
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import { loadImageRun } from '../train/image.js';
import { loadImageSet } from '../data/images.js';
import { makePlan } from '../score/sampling/index.js';
import { samplerDefaults, sampleImages, defaultSampler, type SampleImagesOptions } from '../score/sampling/draw.js';
import { loadOrTrainClassifier } from '../eval/fmnist_classifier.js';
import { evaluateImageSamples, checkClassifierShape } from '../eval/image_eval.js';
import { readSamplesNpy, writeFileAtomic, writeNpy } from '../io/fs.js';
import { makeRunOutputDir } from './output_dir.js';
import { Progress } from '../io/progress.js';
import { writeGrid, samplerOptions } from './images.js';
import { drawOdeImages } from './ode.js';
import { evalBpdCommand } from './eval_bpd.js';

/** A file-name tag for a sampler setting, e.g. ddim50, ddim20-eta1, ancestral-beta, annealed5. */
export function samplerTag(sampler: string, o: SampleImagesOptions, nfe: number): string {
  let t = sampler === 'annealed' ? `annealed${o.stepsPerLevel ?? 5}` : sampler === 'ddim' || sampler === 'dpmpp2m' || sampler === 'em' ? `${sampler}${nfe}` : sampler;
  if (sampler === 'pc') t = `pc-${o.predictor ?? 'reverse_diffusion'}-${o.corrector ?? 'langevin'}${nfe}${o.snr !== undefined && o.snr !== 0.16 ? `-snr${o.snr}` : ''}`;
  if (sampler === 'heun') t = `heun${nfe}${o.churn ? `-churn${o.churn}` : ''}`;
  if (sampler === 'ddim' && o.eta) t += `-eta${o.eta}`;
  if (sampler === 'ddim' && o.spacing && o.spacing !== 'leading') t += `-${o.spacing}`;
  if (sampler === 'ancestral' && o.variance === 'beta') t += '-beta';
  if (o.clip === false) t += '-noclip';
  return t;
}

export async function evalImageCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (a.bpd) return evalBpdCommand(device, a);
  const n: number = a.n ?? 1000;
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`--n must be an integer ≥ 2, got ${a.n}`);
  const run = loadImageRun(device, a.run, a.weights === 'params' ? 'params' : 'ema');
  const { cfg, process } = run;
  const clfLog = (line: string) => console.error(line);
  const clf = await loadOrTrainClassifier(device, { log: clfLog });
  checkClassifierShape(cfg.shape, clf.config.imageSize);
  if (cfg.data !== 'fashion-mnist') console.error(`note: features come from a classifier trained on Fashion-MNIST; on ${cfg.data} the distance is a proxy`);
  const set = loadImageSet(cfg.data, { seed: cfg.seed });
  const sampler: string = a.sampler ?? defaultSampler(process);
  const o: SampleImagesOptions = samplerOptions(sampler, n, a);
  const ode = sampler === 'ode'; // the probability-flow ODE is not a plan (./ode.ts)
  const plan = ode ? null : makePlan(sampler, process, samplerDefaults(process, sampler, o));
  let samples: Float32Array, seconds = 0, dispatches = 0, source: string, nfe = 0, tag = '';
  if (a.samples) {
    samples = readSamplesNpy(a.samples).samples;
    source = a.samples;
  } else if (ode) {
    const r = await drawOdeImages(device, run.net, process, cfg.shape, n, a);
    samples = r.samples;
    seconds = r.seconds;
    nfe = r.nfe;
    tag = r.tag;
    source = `${r.name}, ${r.nfe.toFixed(1)} NFE`;
  } else {
    if (!plan) throw new Error('unreachable: no plan');
    const B = Math.min(n, a.batch ?? 64);
    const bar = new Progress({ total: plan.steps.length * Math.ceil(n / B), label: `sample ${plan.name}, n=${n}` });
    let last = 0;
    const r = await sampleImages(device, run.net, process, cfg.shape, { ...o, onProgress: (d) => { bar.tick(d - last); last = d; } });
    bar.done();
    samples = r.samples;
    seconds = r.seconds;
    dispatches = r.dispatchesPerStep;
    source = `${plan.name}, ${plan.steps.length} NFE`;
    nfe = plan.steps.length;
    tag = samplerTag(sampler, o, nfe);
  }
  if (a.samples) tag = 'file';
  const q = await evaluateImageSamples(device, clf.model, set, samples, process.dataRange, { references: !!a.references, seed: cfg.seed });
  const per = cfg.shape[0] * cfg.shape[1] * cfg.shape[2];
  const dir = makeRunOutputDir(a as { run: string; out?: string });
  writeGrid(join(dir, `eval_${tag}.png`), samples.subarray(0, Math.min(64, samples.length / per) * per), cfg.shape, process.dataRange, `${cfg.process.kind} step ${run.step}: ${source}, FD ${q.fd.toFixed(1)} (floor ${q.floor.toFixed(1)})`);
  const report = {
    run: a.run, data: cfg.data, process: cfg.process.kind, step: run.step, weights: run.weights,
    sampler: tag, samples: source, nfe: a.samples ? undefined : nfe,
    sampleSeconds: seconds || undefined, imgPerSec: seconds ? n / seconds : undefined, batch: a.samples ? undefined : Math.min(n, a.batch ?? 64),
    dispatchesPerStep: dispatches || undefined, submitsPerStep: dispatches ? 1 : undefined,
    classifier: { testAccuracy: clf.testAccuracy, sha256: clf.sha256 },
    ...q,
  };
  if (!a.samples) writeNpy(join(dir, `eval_${tag}.npy`), samples, [n, ...cfg.shape]); // to re-score without re-sampling (--samples)
  writeFileAtomic(join(dir, `eval_${tag}.json`), JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report, null, 2));
  return 0;
}
