// 3×3 convolution rows at the U-Net's shapes (and issue 2's 32×32·64): forward, input and weight
// gradients through conv2d's own plan, two passes in full mode, the forward against the peers.
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from '../../tensor/ops/conv2d.js';
import { timeOp } from '../timing.js';
import { randTf } from '../peers.js';
import { rnd, type BenchEntry, type BenchGroup } from '../group.js';

export const convGroup: BenchGroup = {
  name: 'conv',
  ceilings: true,
  peers: true,
  async run({ device, quick, passes, add, bestOf, onPeers }) {
    const B = quick ? 8 : 64;
    const shapes = [
      { name: 'unet 28×28 32→32', B, C: 32, Co: 32, H: 28, key: false },
      { name: 'unet 14×14 64→64', B, C: 64, Co: 64, H: 14, key: true },
      { name: 'unet 7×7 128→128', B, C: 128, Co: 128, H: 7, key: false },
      { name: 'issue-2 32×32 64→64', B: quick ? 8 : 64, C: 64, Co: 64, H: 32, key: true },
    ];
    const rows = new Map<string, BenchEntry>();
    for (let pass = 0; pass < passes; pass++) {
      for (const s of shapes) {
        const x = rnd(device, [s.B, s.C, s.H, s.H]), w = rnd(device, [s.Co, s.C, 3, 3], 0.1, 1), gy = rnd(device, [s.B, s.Co, s.H, s.H], 0.5, 2);
        const flops = 2 * s.B * s.Co * s.C * 9 * s.H * s.H;
        const shape = `B${s.B}×${s.C}×${s.H}×${s.H} 3×3 p1`;
        const reps = quick ? 3 : s.H === 32 ? 3 : 5;
        const kernels: [string, () => void][] = [
          ['forward', () => void conv2d(x, w, { padding: 1 })],
          ['backward input', () => void conv2dBackwardInput(gy, w, x.shape, { padding: 1 })],
          ['backward weight', () => void conv2dBackwardWeight(x, gy, w.shape, { padding: 1 })],
        ];
        for (const [kname, fn] of kernels) {
          const t = await timeOp(device, fn, { reps, targetMs: quick ? 30 : 100 });
          const name = `conv ${s.name} ${kname}`;
          const e = bestOf(rows.get(name), { group: 'conv', name, shape, ms: t.medianMs }, flops);
          rows.set(name, e);
          if (kname === 'forward' && (!quick || s.key)) {
            await onPeers(e, (tf) => {
              const X = randTf(tf, [s.B, s.H, s.H, s.C]), W = randTf(tf, [3, 3, s.C, s.Co], 0.1);
              return { run: () => tf.conv2d(X, W, 1, 'same'), dispose: () => (X.dispose(), W.dispose()) };
            }, { flops, reps: s.H === 32 && !quick ? 2 : undefined });
          }
        }
        x.dispose();
        w.dispose();
        gy.dispose();
      }
    }
    rows.forEach(add);
  },
};
