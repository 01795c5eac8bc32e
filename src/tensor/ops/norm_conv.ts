// GroupNorm (+SiLU) followed by a convolution, as one op: where the conv takes the implicit-GEMM
// path, the norm (shaders/norm_pack.wgsl) writes the conv's padded NHWC4 input texture as it
// normalises, and the conv skips its packing pass. A second conv of the norm's *input* (a ResBlock's
// 1×1 skip projection) can ride along: the same kernel stores the input's unpadded texture for it.
// Without a backward to follow, the norm's output exists only as that texture, and an input given
// as the parts of a channel concatenation is read in place (one norm dispatch a part), so a no-grad
// U-Net never writes the concatenations of its skip connections. The texture never leaves this
// function (packed.ts PackedInput).
import statsVec4 from '../../../shaders/norm_stats_vec4.wgsl';
import packPart from '../../../shaders/norm_pack.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { grid1d } from '../dispatch.js';
import { ShapeError } from '../../gpu/errors.js';
import { affineConsts, groupNormDims, groupNormWithStats } from './norm.js';
import { conv2dPlanned, packedInputGeometry, planConv2dForward, type Conv2dOptions, type PlannedConv } from './conv2d.js';
import { concat } from './layout.js';
import { scratchTarget, type TexTarget } from './tex_pack.js';
import { withTexelOutputs } from './texel_out.js';
import type { PackedInput, PaddedGeometry } from './packed.js';

const packSource = statsVec4 + packPart;

/** The GroupNorm before the conv: γ·x̂ + β over `groups` groups, then SiLU when `silu`. */
export interface NormArgs {
  groups: number;
  gamma?: Tensor;
  beta?: Tensor;
  eps: number;
  silu: boolean;
}

export interface GroupNormConvOptions {
  /** A backward follows: write the norm's output tensor and keep its mean and rstd (returned as `norm`). */
  keep?: boolean;
  /** A conv of the norm's input as well (run after the main conv), with its own options. */
  side?: { w: Tensor; opts?: Conv2dOptions };
}

export interface GroupNormConvResult {
  /** conv(norm(x)) with the conv's epilogue. */
  y: Tensor;
  /** The side conv of x, when asked for. */
  side: Tensor | null;
  /** With keep: the norm's output and its per-(batch, group) mean and rstd [B, groups]. */
  norm: { y: Tensor; mean: Tensor; rstd: Tensor } | null;
}

/** Groups a norm_pack invocation owns so that it owns whole texels: 4 / gcd(cpg, 4). */
const groupsPerItem = (cpg: number) => 4 / (cpg % 4 === 0 ? 4 : cpg % 2 === 0 ? 2 : 1);

/** Whether norm_pack can run: each group vec4-aligned (cpg·S % 4 == 0), every part's groups whole items. */
function packable(cpg: number, S: number, partGroups: number[]): boolean {
  const G = groupsPerItem(cpg);
  return (cpg * S) % 4 === 0 && partGroups.every((n) => Number.isInteger(n) && n % G === 0);
}

/** g is the unpadded H × W layout (what a 1×1 conv reads its input in). */
const isUnpadded = (g: PaddedGeometry | null, H: number, W: number) => !!g && g.pad === 0 && g.Hp === H && g.Wp === W;

/**
 * conv(act(GroupNorm(x))) [and a side conv of x]: x one tensor [B, C, H, W] or, without `keep`,
 * the parts of its channel concatenation (read in place where the layout allows). The kernels are
 * the plain norm and conv's wherever the conv does not read a texture the norm can write.
 */
export function groupNormConv2d(x: Tensor | Tensor[], n: NormArgs, w: Tensor, conv: Conv2dOptions = {}, o: GroupNormConvOptions = {}): GroupNormConvResult {
  const parts = Array.isArray(x) ? x : [x];
  const d = sameDevice('groupNormConv2d', ...parts, w, ...[n.gamma, n.beta, o.side?.w].filter((t): t is Tensor => !!t));
  if (parts.length === 0) throw new ShapeError('groupNormConv2d: no input');
  if (parts.length > 1 && o.keep) throw new ShapeError(`groupNormConv2d: an input in ${parts.length} parts cannot be kept for a backward; concatenate it first`);
  const [B, , H, W] = parts[0].shape;
  const whole = parts.every((t) => t.rank === 4 && t.shape[0] === B && t.shape[2] === H && t.shape[3] === W);
  if (parts.length > 1 && !whole) return groupNormConv2d(concat(parts, 1), n, w, conv, o);
  const C = parts.reduce((s, t) => s + t.shape[1], 0);
  const xShape = parts.length > 1 ? [B, C, H, W] : parts[0].shape;
  const k = groupNormDims('groupNorm', { rank: xShape.length, shape: xShape, size: xShape.reduce((a, b) => a * b, 1) }, n.groups, n.gamma, n.beta);
  const main = planConv2dForward(d, xShape, w, conv);
  const side = o.side ? planConv2dForward(d, xShape, o.side.w, o.side.opts) : null;
  const g = xShape.length === 4 ? packedInputGeometry(main) : null;
  const gi = g && side ? packedInputGeometry(side) : null;
  const raw = isUnpadded(gi, H, W);
  if (parts.length > 1) {
    // read in place only when both convs then read textures; otherwise write the concatenation
    if (!g || !side || !raw || !packable(k.cpg, H * W, parts.map((t) => t.shape[1] / k.cpg))) {
      const cat = concat(parts, 1);
      const r = groupNormConv2d(cat, n, w, conv, o);
      cat.dispose();
      return r;
    }
  } else if (!g || !packable(k.cpg, k.spatial, [n.groups])) {
    return unfused(parts[0], n, w, conv, o, main, side);
  }
  const y = Tensor.empty(d, xShape), mean = Tensor.empty(d, [B, n.groups]), rstd = Tensor.empty(d, [B, n.groups]);
  const t = packDispatch(d, parts, { y, mean, rstd, gamma: n.gamma, beta: n.beta }, n, k.cpg, { g: g!, raw, writeOut: !!o.keep }, [H, W]);
  const out = conv2dPlanned(main, t.norm, w, conv);
  const sideOut = side ? conv2dPlanned(side, t.input ?? parts[0], o.side!.w, o.side!.opts) : null;
  if (o.keep) return { y: out, side: sideOut, norm: { y, mean, rstd } };
  [y, mean, rstd].forEach((v) => v.dispose());
  return { y: out, side: sideOut, norm: null };
}

/** The plain kernels: the norm's output written, the conv (and the side conv) packing for themselves. */
function unfused(x: Tensor, n: NormArgs, w: Tensor, conv: Conv2dOptions, o: GroupNormConvOptions, main: PlannedConv, side: PlannedConv | null): GroupNormConvResult {
  const norm = groupNormWithStats(x, n.groups, n.gamma, n.beta, n.eps, { silu: n.silu });
  const y = conv2dPlanned(main, norm.y, w, conv);
  const s = side ? conv2dPlanned(side, x, o.side!.w, o.side!.opts) : null;
  if (o.keep) return { y, side: s, norm };
  [norm.y, norm.mean, norm.rstd].forEach((v) => v.dispose());
  return { y, side: s, norm: null };
}

/**
 * norm_pack.wgsl over `parts` (one tensor, or the parts of a channel concatenation, one dispatch
 * each): the norm's output as the texture of geometry `g` (scratch slot 'GN'), the output tensor
 * when `writeOut`, and with `raw` the input's own unpadded texture (slot 'GNX').
 */
function packDispatch(
  d: Device, parts: Tensor[], t: { y: Tensor; mean: Tensor; rstd: Tensor; gamma?: Tensor; beta?: Tensor }, n: NormArgs, cpg: number,
  o: { g: PaddedGeometry; raw: boolean; writeOut: boolean }, [H, W]: number[],
): { norm: PackedInput; input: PackedInput | null } {
  const B = parts[0].shape[0], S = H * W;
  const C = parts.reduce((s, x) => s + x.shape[1], 0), C4 = C / 4;
  const g = o.g;
  const out: TexTarget = scratchTarget(d, 'GN', B * g.Hp * g.Wp * C4);
  // both texel outputs staged or neither (one shader); the raw one is a 1-texel stand-in when unused
  const raw = scratchTarget(d, 'GNX', o.raw ? B * H * W * C4 : 1, out.staged);
  const G = groupsPerItem(cpg);
  const constants = {
    WG: 8, LOG_TW: 12, WRITE_OUT: o.writeOut ? 1 : 0, RAW: o.raw ? 1 : 0, G, ...affineConsts(t.gamma, t.beta, n.silu),
  };
  let g0 = 0;
  for (const x of parts) {
    const gp = x.shape[1] / cpg, bg = (B * gp) / G;
    d.run(
      { ...withTexelOutputs('norm_pack.wgsl', packSource, { dst: 6, raw: 8 }, out.staged), entry: 'main', constants },
      {
        x, gamma: t.gamma ?? d.dummy, beta: t.beta ?? d.dummy, out: t.y, mean: t.mean, rstd: t.rstd,
        dst: out.dst, raw: raw.dst,
        p: { bg, groups: n.groups, cpg, s4: Math.floor(S / 4), eps: n.eps, H, W, Hp: g.Hp, Wp: g.Wp, pad: g.pad, C4, S, g0, gp },
      },
      grid1d(d, Math.ceil(bg / 8) * 8, 8),
    );
    g0 += gp;
  }
  out.land();
  if (o.raw) raw.land();
  return { norm: { view: out.view, geometry: g }, input: o.raw ? { view: raw.view, geometry: { Hp: H, Wp: W, pad: 0 } } : null };
}

