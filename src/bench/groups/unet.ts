// The reference U-Net: forward (no-grad) and the trainer's training step (./workload.ts: what
// `scoregpu train --model unet --preset reference --process ncsn` runs), on synthetic 8-bit images.
// NCSN, so that the peers' step (σ-conditioned network with the output divided by σ,
// ½‖σ·s + z‖² loss, Adam; peers.ts tfUNetTrainStep) is the same network and objective.
import { Tensor } from '../../tensor/tensor.js';
import { noGrad } from '../../autograd/engine.js';
import { imageWorkload, timeTrainSteps, convFlopsOf } from '../workload.js';
import { timeOp } from '../timing.js';
import { randTf, buildTfUNet, tfUNetTrainStep } from '../peers.js';
import { rnd, type BenchEntry, type BenchGroup } from '../group.js';

export const unetGroup: BenchGroup = {
  name: 'unet',
  ceilings: true,
  peers: true,
  async run({ device, o, quick, add, onPeers, peers, info }) {
    const B = o.unetBatch ?? (o.full ? 64 : quick ? 2 : 8);
    const w = imageWorkload(device, { preset: 'reference', batch: B, process: 'ncsn' });
    const net = w.net;
    const { channels: C, imageSize: S } = net.cfg;
    const x = rnd(device, [B, C, S, S]);
    const sigArr = Float32Array.from({ length: B }, (_, i) => Math.exp(Math.sin(i * 3.1) * 2));
    const sigma = Tensor.fromArray(device, sigArr, [B, 1]).keep();
    const { flops: convFlops, dispatches: fwdDispatches } = await convFlopsOf(device, () => void noGrad(() => net.forward(x, sigma)));
    // ~2 s a forward at B64 on lavapipe: 5 in a full run, for a median that a burst of VM load does not move
    const reps = o.full ? 5 : quick ? 2 : 3;
    const tf = await timeOp(device, () => void noGrad(() => net.forward(x, sigma)), { reps, targetMs: 0 });
    const per = 64 / B;
    const fe: BenchEntry = {
      group: 'unet', name: 'reference U-Net forward', shape: `B${B} 1×28×28, ${net.parameterCount()} params`, ms: tf.medianMs,
      gflops: convFlops / tf.medianMs / 1e6, batch: B, dispatches: fwdDispatches, convGflop: convFlops / 1e9,
      msPerSample: tf.medianMs / B, batch64Ms: B === 64 ? tf.medianMs : undefined, batch64ExtrapolatedMs: B === 64 ? undefined : tf.medianMs * per,
      note: B === 64 ? 'measured at batch 64' : `measured at B${B}; B64 extrapolated ×${per} = ${((tf.medianMs * per) / 1e3).toFixed(1)} s`,
    };
    // the trainer's step: batch gather, NCSN DSM loss, backward, gradient norm, AdamW, EMA; recorded, replayed
    const st = await timeTrainSteps(device, w.trainer, reps);
    const stepMs = st.stepMs, encMs = st.callMs;
    const se: BenchEntry = {
      group: 'unet', name: 'reference U-Net train step', shape: `B${B}, trainer step (NCSN DSM, AdamW, EMA)`, ms: stepMs,
      gflops: (3 * convFlops) / stepMs / 1e6, batch: B, dispatches: st.dispatchesPerStep, submitsPerStep: st.submitsPerStep, imgPerSec: (1e3 * B) / stepMs,
      encodeMs: encMs, encodeOverGpu: encMs / Math.max(1e-6, stepMs - encMs), loss: st.loss,
      msPerSample: stepMs / B, batch64Ms: B === 64 ? stepMs : undefined, batch64ExtrapolatedMs: B === 64 ? undefined : stepMs * per,
      note: (B === 64 ? 'measured at batch 64' : `measured at B${B}; B64 extrapolated ×${per} = ${((stepMs * per) / 1e3).toFixed(1)} s`) +
        `; Trainer.runStep (src/train); ${st.dispatchesPerStep} dispatches, ${st.submitsPerStep} submit(s) a step`,
    };
    if (peers?.tf) {
      await onPeers(fe, (tfm) => {
        const u = buildTfUNet(tfm, net);
        fe.peerParams = u.params;
        const X = randTf(tfm, [B, S, S, C]), Sg = tfm.tensor(sigArr, [B, 1]);
        return { run: () => u.forward(X, Sg), dispose: () => (u.dispose(), X.dispose(), Sg.dispose()) };
      }, { reps: quick ? 1 : 2, targetMs: 0 });
      for (const v of Object.values(fe.peers ?? {})) if (v?.ms && B !== 64) v.batch64ExtrapolatedMs = v.ms * per;
      // the training step on the peers: one warm-up and `reps` timed steps (TF.js-WebGPU takes
      // about a minute a step at batch 64 here). The peer's step has no batch gather, gradient
      // clipping or EMA (elementwise work, small beside the network's).
      await onPeers(se, (tfm) => tfUNetTrainStep(tfm, net, B, sigArr), { reps: 1, targetMs: 0 });
      for (const v of Object.values(se.peers ?? {})) if (v?.ms && B !== 64) v.batch64ExtrapolatedMs = v.ms * per;
    }
    add(fe);
    add(se);
    info.unet = { batch: B, params: net.parameterCount(), convGflopForward: convFlops / 1e9, extrapolated: B !== 64 };
    x.dispose();
    sigma.dispose();
    w.dispose();
  },
};
