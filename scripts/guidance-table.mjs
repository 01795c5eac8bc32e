#!/usr/bin/env node
// Classifier guidance, measured (issue 13's "done means"): for an unconditional image run and a
// noise-conditional classifier run (scoregpu train-classifier) — or, without --classifier, for a
// class-conditional run (train --class-conditional) under classifier-free guidance with scale w —
// draw n samples of class K at each guidance scale and score them with the evaluation classifier (src/eval/fmnist_classifier.ts,
// trained on clean images, independent of the guidance classifier): the fraction it labels K, its
// mean confidence, and the Fréchet distance in its features to real test images of class K, beside
// that distance's floor (two disjoint sets of real class-K images of the same n).
//
//   node scripts/guidance-table.mjs --run models/fmnist-ddpm-small --classifier runs/fmnist-ddpm-small-classifier
//   node scripts/guidance-table.mjs --run runs/fmnist-ddpm-cfg-small --scales 0,0.5,1,3   (classifier-free: w)
//        [--classes 5,3] [--scales 0,1,3,10] [--n 64] [--sampler ddim] [--steps 50] [--seed 0] [--batch 64]
//        [--out runs/guidance_table]      → OUT.json and OUT.md, rewritten (atomically) after every row
//
// --classes takes numbers or Fashion-MNIST names (sandal, dress, …). Rows already in OUT.json with the
// same n, sampler, steps and seed are kept, so the table can be filled over several calls.
import { existsSync, readFileSync } from 'node:fs';
import { importBundled, cliArgs } from './run-bundled.mjs';

const { opt } = cliArgs();
const run = opt('run');
const clfDir = opt('classifier');
if (!run) {
  console.error('guidance-table: --run DIR is required (and --classifier DIR unless the run is class-conditional)');
  process.exit(2);
}
const list = (name, dflt) => String(opt(name, dflt)).split(',').filter(Boolean);
const n = Number(opt('n', 64)), steps = Number(opt('steps', 50)), seed = Number(opt('seed', 0)), batch = Number(opt('batch', 64));
const sampler = opt('sampler', 'ddim');
const scales = list('scales', '0,1,3,10').map(Number);
const out = opt('out', 'runs/guidance_table');
for (const [k, v] of Object.entries({ n, steps, batch })) if (!(Number.isInteger(v) && v > 0)) { console.error(`guidance-table: --${k} must be a positive integer`); process.exit(2); }
if (scales.some((s) => !Number.isFinite(s))) { console.error('guidance-table: --scales takes numbers separated by commas'); process.exit(2); }

const L = await importBundled('guidance-table', [
  'src/train/image.ts', 'src/train/classifier.ts', 'src/score/guidance/classifier.ts', 'src/score/guidance/cfg.ts', 'src/score/sampling/draw.ts',
  'src/eval/fmnist_classifier.ts', 'src/eval/image_quality.ts', 'src/eval/image_eval.ts', 'src/data/images.ts', 'src/data/idx.ts', 'src/io/fs.ts',
]);
const device = await L.createDevice({ quiet: true });
const model = L.loadImageRun(device, run);
// classifier-free guidance when the run is class-conditional and no classifier is given
const cfgMode = !clfDir;
if (cfgMode && !model.cfg.classes) throw new Error(`${run} is unconditional: give --classifier DIR (classifier guidance), or use a class-conditional run (classifier-free guidance)`);
const clf = cfgMode ? null : L.loadClassifierRun(device, clfDir);
if (clf && JSON.stringify(clf.cfg.process) !== JSON.stringify(model.cfg.process)) throw new Error(`${clfDir} was trained for another noise process than ${run}`);
const scaleName = cfgMode ? 'w' : 's';
const evalClf = await L.loadOrTrainClassifier(device, { log: (l) => console.error(l) });
const set = L.loadImageSet(model.cfg.data, { seed: model.cfg.seed });
const classes = list('classes', '5,3').map((c) => L.classIndex(c));
const D = model.cfg.shape.reduce((a, b) => a * b, 1);

/** Two disjoint sets of n real test images of class k, in [−1, 1] (the evaluation classifier's range). */
function realOfClass(k) {
  const idx = [];
  for (let i = 0; i < set.testLabels.length; i++) if (set.testLabels[i] === k) idx.push(i);
  if (idx.length < 2 * n) throw new Error(`class ${k} has ${idx.length} test images; --n ${n} needs ${2 * n}`);
  const take = (from) => {
    const x = new Float32Array(n * D);
    for (let j = 0; j < n; j++) x.set(L.toRange(set.test.subarray(idx[from + j] * D, (idx[from + j] + 1) * D), '[-1,1]'), j * D);
    return x;
  };
  return [take(0), take(n)];
}

const key = (r) => `${r.class}:${r.scale}`;
let rows = [];
if (existsSync(`${out}.json`)) {
  const old = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
  if (old.n === n && old.sampler === sampler && old.steps === steps && old.seed === seed && old.run === run && old.classifier === (clfDir ?? null)) rows = old.rows;
}
const names = L.FASHION_MNIST_CLASSES;
/** Per class: the fraction of n real class-K test images the evaluation classifier labels K (what a perfect generator scores). */
const realLabelled = {};
function write() {
  const head = { run, guidance: cfgMode ? 'classifier-free' : 'classifier', classifier: clfDir ?? null, classifierStep: clf?.step, sampler, steps, n, seed, evalClassifierTestAccuracy: evalClf.testAccuracy, realLabelledK: realLabelled };
  L.writeFileAtomic(`${out}.json`, JSON.stringify({ ...head, rows }, null, 2) + '\n');
  const md = [
    cfgMode
      ? `Classifier-free guidance on ${run} (ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅), one forward on the doubled batch): ${sampler} ${steps} steps, n = ${n} per row, seed ${seed}.`
      : `Classifier guidance on ${run} with ${clfDir} (step ${clf.step}): ${sampler} ${steps} steps, n = ${n} per row, seed ${seed}.`,
    'Labelled K: the evaluation classifier\'s argmax; FD: Fréchet distance in its features to real test images of class K (floor: real vs real, same n).',
    `Real test images labelled K by the same classifier (n = ${n}): ${Object.entries(realLabelled).map(([k, f]) => `${k} ${names[k]} ${(100 * f).toFixed(1)} %`).join(', ')}.`,
    '',
    `| class K | scale ${scaleName} | labelled K | mean confidence | FD to real class K | floor | seconds |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.class} ${names[r.class]} | ${r.scale} | ${(100 * r.fractionK).toFixed(1)} % | ${r.meanConfidence.toFixed(2)} | ${r.fd.toFixed(1)} | ${r.floor.toFixed(1)} | ${r.seconds.toFixed(0)} |`),
  ];
  L.writeFileAtomic(`${out}.md`, md.join('\n') + '\n');
}

for (const k of classes) {
  const [a, b] = realOfClass(k);
  realLabelled[k] = (await L.evaluateImages(device, evalClf.model, a, a, b)).histogram[k] / n;
  for (const s of scales) {
    if (rows.some((r) => key(r) === key({ class: k, scale: s }))) continue;
    const net = cfgMode ? new L.ClassifierFreeGuidance(model.net, k, s) : L.classifierGuided(model.net, clf.net, model.process, { label: k, scale: s });
    const o = L.samplerDefaults(model.process, sampler, { steps, stepsPerLevel: steps });
    let lastPct = -1;
    const r = await L.sampleImages(device, net, model.process, model.cfg.shape, {
      ...o, sampler, n, seed, batch,
      onProgress: (d, total) => {
        const pct = Math.floor((100 * d) / total / 10) * 10;
        if (pct !== lastPct) process.stderr.write(`\rclass ${k} (${names[k]}), ${scaleName} = ${s}: ${pct} %`);
        lastPct = pct;
      },
    });
    process.stderr.write('\n');
    const q = await L.evaluateImages(device, evalClf.model, L.toClassifierRange(r.samples, model.process.dataRange), a, b);
    const row = { class: k, name: names[k], scale: s, fractionK: q.histogram[k] / n, histogram: q.histogram, meanConfidence: q.meanConfidence, fd: q.fd, floor: q.floor, seconds: r.seconds, nfe: r.nfe };
    rows.push(row);
    net.dispose?.();
    console.log(`class ${k} (${names[k]}), ${scaleName} = ${s}: labelled ${k} ${(100 * row.fractionK).toFixed(1)} %, confidence ${q.meanConfidence.toFixed(2)}, FD ${q.fd.toFixed(1)} (floor ${q.floor.toFixed(1)}), ${r.seconds.toFixed(0)} s`);
    write();
  }
}
write();
console.log(`→ ${out}.json, ${out}.md`);
