// A/B timing of the conv2d paths at given shapes, interleaved (round r times every path once, in
// a rotating order) so that load from other jobs on the machine hits every path alike; reports the
// median per path and its ratio to the first path. Used by scripts/profile-conv.mjs.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dOutSize } from '../tensor/ops/conv2d.js';
import { conv2dImplicitForward, conv2dImplicitBackwardInput, conv2dImplicitBackwardWeight } from '../tensor/ops/conv2d_implicit.js';
import type { ConvBlock } from '../tensor/ops/conv2d_plan.js';
import { median } from './timing.js';

export interface ConvShape {
  B: number; Cin: number; H: number; Cout: number; k: number; s: number; p: number;
}

export type ConvPath = `blk${ConvBlock}` | 'row' | 'im2col' | 'implicit' | 'implicit-texelpack' | 'implicit-pxpack' | `implicit${number}x${number}` | `implicit${number}x${number}s${number}`;

export interface PathTiming {
  shape: string;
  kind: 'forward' | 'input' | 'weight';
  path: string;
  ms: number;
  gflops: number;
  ratio: number;
}

/** Run fn with `path` forced by the device's kernel policy. */
function withPath<T>(d: Device, path: ConvPath, fn: () => T): T {
  const pack = path === 'implicit-texelpack' ? 'nhwc4' : path === 'implicit-pxpack' ? 'nhwc4_px' : d.policy.implicitPack;
  return d.withPolicy({
    convImplicit: path.startsWith('implicit') || path.startsWith('blk') ? 'always' : 'never',
    convTex: path === 'im2col' ? 'always' : 'never',
    implicitPack: pack,
  }, fn);
}

export async function compareConvPaths(
  d: Device, shapes: ConvShape[], paths: ConvPath[], o: { kinds?: ('forward' | 'input' | 'weight')[]; rounds?: number; inner?: number } = {},
): Promise<PathTiming[]> {
  const rounds = o.rounds ?? 5, inner = o.inner ?? 3;
  const out: PathTiming[] = [];
  for (const q of shapes) {
    const Ho = conv2dOutSize(q.H, q.k, q.s, q.p);
    const fill = (shape: number[]) => Tensor.fromArray(d, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)), shape).keep();
    const x = fill([q.B, q.Cin, q.H, q.H]), w = fill([q.Cout, q.Cin, q.k, q.k]), gy = fill([q.B, q.Cout, Ho, Ho]);
    const flops = 2 * q.B * Ho * Ho * q.Cout * q.Cin * q.k * q.k;
    const dims = { B: q.B, Cin: q.Cin, H: q.H, W: q.H, Cout: q.Cout, KH: q.k, KW: q.k, Ho, Wo: Ho, s: q.s, p: q.p };
    for (const kind of o.kinds ?? ['forward']) {
      const run = (path: ConvPath) => {
        // implicitRxC: force that row strip (blk7x7: that block; 'implicit': the default choice);
        // weight gradients: implicitRxC[sS][t], S reduction splits, t gy transposed (nchw_t) not NHWC4
        const tile = /^implicit(\d+)x(\d+)(?:s(\d+))?(t?)$/.exec(path);
        const blk = /^blk(7x7)$/.exec(path);
        withPath(d, path, () =>
          d.scope(() => {
            if (blk && kind !== 'weight') {
              const t = { block: blk[1] as ConvBlock };
              const y = Tensor.empty(d, kind === 'forward' ? [q.B, q.Cout, Ho, Ho] : [q.B, q.Cin, q.H, q.H]);
              const ok = kind === 'forward' ? conv2dImplicitForward(d, x, w, y, dims, {}, t) : conv2dImplicitBackwardInput(d, gy, w, y, dims, t);
              if (!ok) throw new Error(`${path} cannot run ${kind} at this shape`);
            } else if (tile && kind === 'weight') {
              conv2dImplicitBackwardWeight(d, x, gy, dims, { tile: { tm: Number(tile[1]), tn: Number(tile[2]) }, splits: tile[3] ? Number(tile[3]) : undefined, gyLayout: tile[4] ? 'nchw_t' : 'nhwc4' });
            } else if (tile) {
              const t = { tm: Number(tile[1]), tn: Number(tile[2]) };
              const y = Tensor.empty(d, kind === 'forward' ? [q.B, q.Cout, Ho, Ho] : [q.B, q.Cin, q.H, q.H]);
              if (kind === 'forward') conv2dImplicitForward(d, x, w, y, dims, {}, t);
              else conv2dImplicitBackwardInput(d, gy, w, y, dims, t);
            } else if (kind === 'forward') conv2d(x, w, { stride: q.s, padding: q.p });
            else if (kind === 'input') conv2dBackwardInput(gy, w, [q.B, q.Cin, q.H, q.H], { stride: q.s, padding: q.p });
            else conv2dBackwardWeight(x, gy, [q.Cout, q.Cin, q.k, q.k], { stride: q.s, padding: q.p });
          }),
        );
      };
      for (const p of paths) {
        run(p);
        await d.sync();
      }
      const times = new Map<string, number[]>(paths.map((p) => [p, []]));
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < paths.length; i++) {
          const p = paths[(i + r) % paths.length];
          const t0 = performance.now();
          for (let k = 0; k < inner; k++) run(p);
          await d.sync();
          times.get(p)!.push((performance.now() - t0) / inner);
        }
      }
      const base = median(times.get(paths[0])!);
      const shape = `B${q.B} ${q.Cin}→${q.Cout} ${q.H}×${q.H} k${q.k} s${q.s}`;
      for (const p of paths) {
        const ms = median(times.get(p)!);
        out.push({ shape, kind, path: p, ms, gflops: flops / ms / 1e6, ratio: base / ms });
      }
    }
    [x, w, gy].forEach((t) => t.dispose());
  }
  return out;
}
