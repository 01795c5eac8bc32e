// The toy MLP's DSM training step (the trainer's own, recorded and replayed): steps/s, and how the
// JS time to encode one recorded step compares with the GPU time of the step.
import { sampleToy } from '../../data/toy.js';
import { Trainer, rows } from '../../train/trainer.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig } from '../../train/toy_recipes.js';
import { median } from '../timing.js';
import type { BenchGroup } from '../group.js';

export const mlpGroup: BenchGroup = {
  name: 'mlp',
  async run({ device, quick, add, info }) {
    const cfg = toyConfig({ loss: 'dsm', batchSize: 1024 });
    const { model, arena } = buildToyModel(device, cfg);
    const trainer = new Trainer(device, arena, toyLoss(device, cfg, model), rows(sampleToy(cfg.data, 20000, 0), cfg.dim), trainerConfig(cfg, 1_000_000));
    trainer.runStep(); // eager (compiles pipelines, creates constants)
    trainer.runStep(); // records, replays
    await device.sync();
    const rec = trainer.recordedStep;
    const n = quick ? 40 : 200;
    const thr: number[] = [];
    for (let r = 0; r < 3; r++) {
      const a = performance.now();
      for (let i = 0; i < n; i++) trainer.runStep();
      await device.sync();
      thr.push((performance.now() - a) / n);
    }
    const stepMs = median(thr);
    // encode (JS) vs GPU time of one replay: replay() alone, then wait for the queue
    const enc: number[] = [], full: number[] = [];
    for (let i = 0; i < (quick ? 20 : 60); i++) {
      const a = performance.now();
      if (rec) rec.replay();
      else trainer.runStep();
      const b = performance.now();
      await device.sync();
      enc.push(b - a);
      full.push(performance.now() - a);
    }
    const encodeMs = median(enc), syncedMs = median(full);
    // where replay's JS time goes: encoding the dispatches (to finish()) vs queue.submit
    const encOnly: number[] = [], subOnly: number[] = [];
    const ds = rec?.dispatches;
    if (ds) {
      for (let i = 0; i < (quick ? 20 : 60); i++) {
        const a = performance.now();
        const ce = device.device.createCommandEncoder();
        const pass = ce.beginComputePass();
        for (const d of ds) {
          pass.setPipeline(d.kernel.pipeline);
          pass.setBindGroup(0, d.bindGroup);
          pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        }
        pass.end();
        const cb = ce.finish();
        const b = performance.now();
        device.device.queue.submit([cb]);
        const c = performance.now();
        await device.device.queue.onSubmittedWorkDone();
        encOnly.push(b - a);
        subOnly.push(c - b);
      }
    }
    const rt = info.overheads ? info.overheads.roundTripUs / 1e3 : 0;
    const gpuMs = Math.max(1e-6, syncedMs - encodeMs - rt);
    const encodeOnlyMs = encOnly.length ? median(encOnly) : undefined, submitMs = subOnly.length ? median(subOnly) : undefined;
    const gpuOnlyMs = encodeOnlyMs !== undefined ? Math.max(1e-6, syncedMs - encodeOnlyMs - rt) : gpuMs;
    info.encode = {
      what: 'toy MLP DSM training step, batch 1024: JS time to encode the recorded dispatches (to finish()) vs the GPU time of the step',
      encodeMs: encodeOnlyMs ?? encodeMs, gpuMs: gpuOnlyMs, ratio: (encodeOnlyMs ?? encodeMs) / gpuOnlyMs, target: 0.05,
      replayCallMs: encodeMs, replayCallRatio: encodeMs / gpuMs, syncedStepMs: syncedMs, roundTripMs: rt,
      note: 'replayCallMs is the whole Recording.replay() call, including queue.submit (which took 0.4-4 ms on a loaded lavapipe machine)',
      breakdown: { encodeToFinishMs: encodeOnlyMs, queueSubmitMs: submitMs, dispatches: ds?.length },
    };
    add({
      group: 'mlp', name: 'toy DSM train step (replay)', shape: `batch 1024, MLP 2-128-128-128-2`, ms: stepMs,
      stepsPerSecond: 1e3 / stepMs, dispatchesPerStep: trainer.dispatchesPerStep, submitsPerStep: 1,
      note: `${(1e3 / stepMs).toFixed(0)} steps/s, ${trainer.dispatchesPerStep} dispatches/step`,
    });
    add({
      group: 'mlp', name: 'encode one recorded step (JS)', shape: `${trainer.dispatchesPerStep} dispatches`, ms: encodeMs,
      gpuMs, encodeOverGpu: encodeMs / gpuMs,
      encodeToFinishMs: encodeOnlyMs, queueSubmitMs: submitMs,
      note: `encode→finish ${encodeOnlyMs?.toFixed(2)} ms = ${(100 * (encodeOnlyMs ?? NaN) / gpuOnlyMs).toFixed(1)}% of GPU ${gpuOnlyMs.toFixed(1)} ms (target < 5%); whole replay() incl. queue.submit ${encodeMs.toFixed(2)} ms = ${(100 * encodeMs / gpuMs).toFixed(1)}%`,
    });
    trainer.dispose();
  },
};
