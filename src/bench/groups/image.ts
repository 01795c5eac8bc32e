// Image generation at batch 64 for real: the trainer's DDPM step (ε-loss) on synthetic 8-bit
// 1×28×28 images, and the DDIM-50 and ancestral (T = 1000) chains of src/score/sampling on the same
// (untrained) network. A chain's steps all cost the same (one forward, one fused update, replayed
// with new coefficients), so a few replayed steps give its img/s: 64 / (NFE · step time). The
// reference preset runs with --full (a step takes several seconds at batch 64 on a CPU adapter).
import type { UNetPreset } from '../../nn/unet.js';
import { makePlan } from '../../score/sampling/index.js';
import { samplerDefaults } from '../../score/sampling/draw.js';
import { imageWorkload, timeTrainSteps, timePlanSteps } from '../workload.js';
import { randTf, buildTfUNet, tfUNetTrainStep, type PeerName } from '../peers.js';
import type { BenchEntry, BenchGroup } from '../group.js';

export const imageGroup: BenchGroup = {
  name: 'image',
  peers: true,
  async run({ device, o, quick, add, onPeers, peers, info }) {
    const B = o.imageBatch ?? 64;
    const presets: UNetPreset[] = o.full ? ['small', 'reference'] : ['small'];
    const trainSteps = quick ? 2 : 5, sampleSteps = quick ? 3 : 8;
    for (const preset of presets) {
      const w = imageWorkload(device, { preset, batch: B, process: 'ddpm' });
      const params = w.net.parameterCount();
      const st = await timeTrainSteps(device, w.trainer, preset === 'reference' ? Math.min(trainSteps, 3) : trainSteps);
      const te: BenchEntry = {
        group: 'image', name: `train ${preset} U-Net (DDPM)`, shape: `B${B} 1×28×28, ${params} params`, ms: st.stepMs,
        imgPerSec: (1e3 * B) / st.stepMs, stepsPerSecond: 1e3 / st.stepMs, dispatchesPerStep: st.dispatchesPerStep, submitsPerStep: st.submitsPerStep,
        callMs: st.callMs, timedMs: st.ms.map(Math.round), loss: st.loss,
        note: `${((1e3 * B) / st.stepMs).toFixed(1)} img/s; Trainer.runStep, ${st.dispatchesPerStep} dispatches, ${st.submitsPerStep} submit(s) a step`,
      };
      if (peers?.tf && preset === 'small') {
        // the same layers with σ-conditioning and ½‖σ·s + z‖² + Adam (peers.ts), not DDPM's t
        // embedding and ε-loss: the network's cost is the same
        const sig = Float32Array.from({ length: B }, (_, i) => Math.exp(Math.sin(i * 3.1) * 2));
        await onPeers(te, (tfm) => tfUNetTrainStep(tfm, w.net, B, sig), { reps: 1, targetMs: 0 });
        for (const v of Object.values(te.peers ?? {})) if (v?.ms) v.imgPerSec = (1e3 * B) / v.ms;
      }
      add(te);
      // the peers' sampling step: the same network's forward and the affine update x ← a·x + b·out + c·z
      // (tf.randomNormal for z), timed once and shared by both chains (their steps are the same work)
      let peerStep: BenchEntry['peers'] | undefined;
      for (const [sampler, label] of [['ddim', 'DDIM-50'], ['ancestral', 'ancestral']] as const) {
        const plan = makePlan(sampler, w.process, samplerDefaults(w.process, sampler, { steps: 50 }));
        const t = await timePlanSteps(device, w.net, plan, { n: B, shape: w.cfg.shape, steps: sampleSteps, seed: 1 });
        const ips = B / ((t.nfe * t.stepMs) / 1e3);
        const e: BenchEntry = {
          group: 'image', name: `sample ${label} ${preset} U-Net`, shape: `B${B}, ${t.nfe} steps`, ms: t.stepMs,
          imgPerSec: ips, secondsPerBatch: (t.nfe * t.stepMs) / 1e3, nfe: t.nfe, dispatchesPerStep: t.dispatchesPerStep, submitsPerStep: t.submitsPerStep,
          timedMs: t.ms.map(Math.round),
          note: `${ips.toFixed(2)} img/s (${((t.nfe * t.stepMs) / 1e3).toFixed(1)} s a batch of ${B}, from ${t.ms.length} replayed steps of ${t.nfe}); ${t.dispatchesPerStep} dispatches, ${t.submitsPerStep} submit(s) a step`,
        };
        if (peers?.tf && preset === 'small') {
          if (!peerStep) {
            const { channels: C, imageSize: S } = w.net.cfg;
            const cond = Float32Array.from({ length: B }, (_, i) => 1 + ((i * 37) % 999));
            await onPeers(e, (tfm) => {
              const u = buildTfUNet(tfm, w.net);
              const X = randTf(tfm, [B, S, S, C]), Cd = tfm.tensor(cond, [B, 1]);
              const run = () => tfm.add(tfm.add(tfm.mul(X, 0.999), tfm.mul(u.forward(X, Cd), -0.01)), tfm.mul(tfm.randomNormal([B, S, S, C]), 0.01));
              return { run, dispose: () => (u.dispose(), X.dispose(), Cd.dispose()) };
            }, { reps: quick ? 1 : 2, targetMs: 0 });
            peerStep = e.peers;
          } else {
            e.peers = {};
            for (const [k, v] of Object.entries(peerStep ?? {})) e.peers[k as PeerName] = v?.ms !== undefined ? { ms: v.ms } : { ...v };
          }
          for (const v of Object.values(e.peers ?? {})) if (v?.ms) v.imgPerSec = B / ((t.nfe * v.ms) / 1e3);
        }
        add(e);
      }
      w.dispose();
    }
    info.image = {
      batch: B, presets, process: 'ddpm (linear β, T = 1000)', data: 'synthetic 8-bit 1×28×28 (256 images on the device)',
      note: o.full ? undefined : 'reference preset: run with --full',
    };
  },
};
