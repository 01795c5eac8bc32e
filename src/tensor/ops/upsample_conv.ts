// Nearest ×2 up-sampling followed by a convolution, as one op: where the conv takes the
// implicit-GEMM path, the up-sampling (shaders/up2_pack.wgsl) writes the conv's padded NHWC4 input
// texture straight from the small image, and the up-sampled tensor is never written. Only for
// inference: a backward needs the up-sampled tensor (autograd composes upsample and conv there).
import up2PackSource from '../../../shaders/up2_pack.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { conv2dPlanned, packedInputGeometry, planConv2dForward, type Conv2dOptions } from './conv2d.js';
import { upsampleNearest2d } from './pool.js';
import { scratchTarget } from './tex_pack.js';
import { withTexelOutputs } from './texel_out.js';

/** conv(upsampleNearest2d(x, 2)) for x [B, C, H, W]. */
export function upsample2Conv2d(x: Tensor, w: Tensor, conv: Conv2dOptions = {}): Tensor {
  const d = sameDevice('upsample2Conv2d', x, w);
  if (x.rank !== 4) throw new ShapeError(`upsample2Conv2d: needs x [B, C, H, W], got ${fmtShape(x.shape)}`);
  const [B, C, H, W] = x.shape;
  const main = planConv2dForward(d, [B, C, 2 * H, 2 * W], w, conv);
  const g = packedInputGeometry(main);
  if (!g) {
    const up = upsampleNearest2d(x, 2);
    const y = conv2dPlanned(main, up, w, conv);
    up.dispose();
    return y;
  }
  if (g.Hp < 2 * H + 2 * g.pad || g.Wp < 2 * W + 2 * g.pad) throw new ShapeError(`upsample2Conv2d: padded image ${g.Hp}×${g.Wp} (pad ${g.pad}) cannot hold ${2 * H}×${2 * W}`);
  const C4 = Math.ceil(C / 4);
  const t = scratchTarget(d, 'GN', B * g.Hp * g.Wp * C4);
  const items = B * C4 * H;
  d.run(
    { ...withTexelOutputs('up2_pack.wgsl', up2PackSource, { dst: 1 }, t.staged), entry: 'main', constants: { WG: 8, LOG_TW: 12 } },
    { x, dst: t.dst, p: { items, C, C4, H, W, Hp: g.Hp, Wp: g.Wp, pad: g.pad } },
    grid1d(d, Math.ceil(items / 8) * 8, 8),
  );
  t.land();
  return conv2dPlanned(main, { view: t.view, geometry: g }, w, conv);
}
