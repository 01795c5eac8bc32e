// GroupNorm over [B, C, ...spatial] (NCHW, [B, C, L] or [B, C]) with optional affine γ, β and a
// fused SiLU (shaders/norm.wgsl); its backward (shaders/norm_backward.wgsl + norm_params.wgsl).
// A workgroup per (batch, group) with workgroup-memory reductions on GPUs, a thread per (batch,
// group) on CPU adapters (kernelStyle in reduce.ts); the forward is one dispatch, the backward two.
import source from '../../../shaders/norm.wgsl';
import backwardSource from '../../../shaders/norm_backward.wgsl';
import paramsSource from '../../../shaders/norm_params.wgsl';
import statsVec4 from '../../../shaders/norm_stats_vec4.wgsl';
import vec4Part from '../../../shaders/norm_vec4.wgsl';
import packPart from '../../../shaders/norm_pack.wgsl';
import backwardVec4Source from '../../../shaders/norm_backward_vec4.wgsl';
import { producerTexture, markPacked, type PaddedGeometry } from './packed.js';
import { scratchTarget } from './tex_pack.js';
import { withTexelOutputs } from './texel_out.js';
import { Tensor, sameDevice } from '../tensor.js';
import type { Device } from '../../gpu/device.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { rowLaunch, kernelStyle } from './reduce.js';

// the vec4 forward kernels share their statistics pass (WGSL has no includes)
const vec4Source = statsVec4 + vec4Part;
const packSource = statsVec4 + packPart;

export interface GroupNormOptions {
  /** Apply SiLU to the output in the same kernel. */
  silu?: boolean;
  /**
   * The output feeds an implicit-GEMM conv that reads it in this padded geometry
   * (conv2d_tex.ts implicitForwardGeometry): write that texture too, where the layout allows, so
   * the conv skips its packing pass. The output tensor is written either way.
   */
  pack?: PaddedGeometry | null;
  /**
   * With `pack`: write only the texture, not the output tensor (no-grad inference, where that conv
   * is the output's only reader). The tensor returned is then a placeholder the conv resolves to
   * the texture; anything else reading it gets an error from the conv, or garbage elsewhere.
   */
  packOnly?: boolean;
  /**
   * With `pack`: the geometry a 1×1 conv reading the norm's input x packs x in; when it is the
   * unpadded one (a ResBlock's skip projection), the kernel stores x's texels there too (slot
   * 'GNX') and that conv skips its packing pass.
   */
  packInput?: PaddedGeometry | null;
}

/** The override constants every GroupNorm kernel takes. */
function affineConsts(gamma: Tensor | undefined, beta: Tensor | undefined, silu: boolean | undefined) {
  return { HAS_GAMMA: gamma ? 1 : 0, HAS_BETA: beta ? 1 : 0, SILU: silu ? 1 : 0 };
}

/** g is the unpadded H × W layout (what a 1×1 conv reads its input in). */
const isUnpadded = (g: PaddedGeometry | null | undefined, H: number, W: number) => !!g && g.pad === 0 && g.Hp === H && g.Wp === W;

interface Dims {
  batch: number;
  channels: number;
  spatial: number;
  cpg: number;
}

function dims(op: string, x: Tensor, groups: number, gamma?: Tensor, beta?: Tensor): Dims {
  if (x.rank < 2) throw new ShapeError(`${op}: needs [B, C, ...] (rank >= 2), got ${fmtShape(x.shape)}`);
  const [batch, channels] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new ShapeError(`${op}: ${groups} groups do not divide the ${channels} channels (axis 1) of ${fmtShape(x.shape)}`);
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && t.size !== channels) throw new ShapeError(`${op}: ${name} ${fmtShape(t.shape)} must have ${channels} elements, the channels (axis 1) of ${fmtShape(x.shape)}`);
  }
  return { batch, channels, spatial: x.size / Math.max(1, batch * channels), cpg: channels / groups };
}


/** GroupNorm returning the output and the per-(batch, group) mean and rstd, each [B, groups]. */
export function groupNormWithStats(x: Tensor, groups: number, gamma?: Tensor, beta?: Tensor, eps = 1e-5, opts: GroupNormOptions = {}): { y: Tensor; mean: Tensor; rstd: Tensor } {
  const d = sameDevice('groupNorm', x, ...[gamma, beta].filter((t): t is Tensor => !!t));
  const k = dims('groupNorm', x, groups, gamma, beta);
  const y = Tensor.empty(d, x.shape);
  const mean = Tensor.empty(d, [k.batch, groups]);
  const rstd = Tensor.empty(d, [k.batch, groups]);
  const bg = k.batch * groups;
  if (x.size === 0) return { y, mean, rstd };
  const consts = affineConsts(gamma, beta, opts.silu);
  const bind = { x, gamma: gamma ?? d.dummy, beta: beta ?? d.dummy, out: y, mean, rstd };
  if (opts.pack && x.rank === 4 && packable(k.cpg, k.spatial, [groups])) {
    const [, , H, W] = x.shape;
    const raw = packDispatch(d, [x], { y, mean, rstd, gamma, beta }, groups, k.cpg, eps, { ...opts, pack: opts.pack }, [H, W]);
    markPacked(y, opts.pack, raw.norm, !!opts.packOnly);
    if (raw.input) markPacked(x, opts.packInput!, raw.input);
    return { y, mean, rstd };
  }
  if (kernelStyle(d) === 'cpu' && k.spatial % 4 === 0) {
    // thread per (batch, group) with vec4 accesses (B64: ×2.7–3.3 over scalar ones on lavapipe)
    d.run(
      { file: 'norm_vec4.wgsl', source: vec4Source, entry: 'main', constants: { WG: 8, ...consts } },
      { ...bind, p: { bg, groups, cpg: k.cpg, s4: k.spatial / 4, eps } },
      grid1d(d, Math.ceil(bg / 8) * 8, 8),
    );
    return { y, mean, rstd };
  }
  const [WG, TPR] = rowLaunch(d, k.cpg * k.spatial, 256, bg);
  d.run(
    { file: 'norm.wgsl', source, entry: 'main', constants: { WG, TPR, ...consts } },
    { ...bind, p: { bg, groups, cpg: k.cpg, s: k.spatial, eps } },
    grid1d(d, Math.ceil(bg / (WG / TPR)) * WG, WG),
  );
  return { y, mean, rstd };
}

type Producer = ReturnType<typeof producerTexture>;

/** Groups a norm_pack invocation owns so that it owns whole texels: 4 / gcd(cpg, 4). */
const groupsPerItem = (cpg: number) => 4 / (cpg % 4 === 0 ? 4 : cpg % 2 === 0 ? 2 : 1);

/** Whether norm_pack can run: each group vec4-aligned (cpg·S % 4 == 0), every part's groups whole items. */
function packable(cpg: number, S: number, partGroups: number[]): boolean {
  const G = groupsPerItem(cpg);
  return (cpg * S) % 4 === 0 && partGroups.every((n) => Number.isInteger(n) && n % G === 0);
}

/**
 * norm_pack.wgsl over `parts` (one tensor, or the parts of a channel concatenation, one dispatch
 * each): the norm's output texture in opts.pack's geometry, the output tensor unless packOnly, and
 * the input's own unpadded texture when opts.packInput asks for that geometry.
 */
function packDispatch(
  d: Device, parts: Tensor[], t: { y: Tensor; mean: Tensor; rstd: Tensor; gamma?: Tensor; beta?: Tensor }, groups: number, cpg: number, eps: number,
  opts: GroupNormOptions & { pack: PaddedGeometry }, [H, W]: number[],
): { norm: Producer; input: Producer | null } {
  const B = parts[0].shape[0], S = H * W;
  const C = parts.reduce((n, x) => n + x.shape[1], 0), C4 = C / 4;
  const g = opts.pack, gi = opts.packInput;
  const norm = producerTexture(d, B * g.Hp * g.Wp * C4);
  const input = isUnpadded(gi, H, W) ? producerTexture(d, B * H * W * C4, 'GNX', norm.target.staged) : null;
  // both texel outputs staged or neither (one shader); the raw one is a 1-texel stand-in when unused
  const out = norm.target, raw = input?.target ?? scratchTarget(d, 'GNX', 1, out.staged);
  const G = groupsPerItem(cpg);
  const constants = {
    WG: 8, LOG_TW: 12, WRITE_OUT: opts.packOnly ? 0 : 1, RAW: input ? 1 : 0, G, ...affineConsts(t.gamma, t.beta, opts.silu),
  };
  let g0 = 0;
  for (const x of parts) {
    const gp = x.shape[1] / cpg, bg = (B * gp) / G;
    d.run(
      { ...withTexelOutputs('norm_pack.wgsl', packSource, { dst: 6, raw: 8 }, out.staged), entry: 'main', constants },
      {
        x, gamma: t.gamma ?? d.dummy, beta: t.beta ?? d.dummy, out: t.y, mean: t.mean, rstd: t.rstd,
        dst: out.dst, raw: raw.dst,
        p: { bg, groups, cpg, s4: Math.floor(S / 4), eps, H, W, Hp: g.Hp, Wp: g.Wp, pad: g.pad, C4, S, g0, gp },
      },
      grid1d(d, Math.ceil(bg / 8) * 8, 8),
    );
    g0 += gp;
  }
  out.land();
  if (input) raw.land();
  return { norm, input };
}

/**
 * No-grad GroupNorm(+SiLU) of concat(parts, axis 1) feeding an implicit-GEMM conv, read from the
 * parts in place (one dispatch a part) so the concatenation is never written: returns placeholder
 * tensors for the norm's output and for the concatenated input, which exist only as the packed
 * textures (opts.pack for the norm's conv, opts.packInput for a 1×1 conv of the input; the latter
 * must be the unpadded geometry). Null where the layout does not allow it (each part whole items
 * of norm_pack, every group vec4-aligned), and the caller concatenates instead.
 */
export function groupNormPackedParts(
  parts: Tensor[], groups: number, gamma: Tensor | undefined, beta: Tensor | undefined, eps: number,
  opts: { silu?: boolean; pack: PaddedGeometry; packInput: PaddedGeometry },
): { y: Tensor; x: Tensor } | null {
  const d = sameDevice('groupNorm', ...parts, ...[gamma, beta].filter((t): t is Tensor => !!t));
  if (parts.some((x) => x.rank !== 4)) return null;
  const [B, , H, W] = parts[0].shape;
  if (parts.some((x) => x.shape[0] !== B || x.shape[2] !== H || x.shape[3] !== W)) return null;
  const C = parts.reduce((n, x) => n + x.shape[1], 0);
  if (C % groups !== 0) return null;
  const cpg = C / groups;
  const gi = opts.packInput;
  if (!packable(cpg, H * W, parts.map((x) => x.shape[1] / cpg)) || !isUnpadded(gi, H, W)) return null;
  const shape = [B, C, H, W];
  const y = Tensor.empty(d, shape), x = Tensor.empty(d, shape);
  const mean = Tensor.empty(d, [B, groups]), rstd = Tensor.empty(d, [B, groups]);
  const raw = packDispatch(d, parts, { y, mean, rstd, gamma, beta }, groups, cpg, eps, { ...opts, packOnly: true }, [H, W]);
  mean.dispose();
  rstd.dispose();
  markPacked(y, opts.pack, raw.norm, true);
  markPacked(x, gi, raw.input!, true);
  return { y, x };
}

/** GroupNorm (optionally fused with SiLU: silu(γ·x̂ + β)). */
export function groupNorm(x: Tensor, groups: number, gamma?: Tensor, beta?: Tensor, eps = 1e-5, opts: GroupNormOptions = {}): Tensor {
  const { y, mean, rstd } = groupNormWithStats(x, groups, gamma, beta, eps, opts);
  mean.dispose();
  rstd.dispose();
  return y;
}

export interface GroupNormBackwardOptions {
  /** gy is the gradient of silu(GroupNorm(x)) (the fused forward); z is recomputed in-kernel. */
  silu?: boolean;
  /** β of the forward: needed only with silu, to recompute z. */
  beta?: Tensor;
}

/**
 * Gradients of GroupNorm from the forward's mean and rstd: gx (shape of x), and ggamma, gbeta
 * (each [C]; the gradients of γ and β, also well defined when the forward had none).
 */
export function groupNormBackward(x: Tensor, gy: Tensor, mean: Tensor, rstd: Tensor, groups: number, gamma?: Tensor, opts: GroupNormBackwardOptions = {}): { gx: Tensor; ggamma: Tensor; gbeta: Tensor } {
  const beta = opts.beta;
  const d = sameDevice('groupNormBackward', x, gy, mean, rstd, ...[gamma, beta].filter((t): t is Tensor => !!t));
  const k = dims('groupNormBackward', x, groups, gamma, beta);
  if (gy.rank !== x.rank || gy.shape.some((v, i) => v !== x.shape[i])) {
    throw new ShapeError(`groupNormBackward: gradient ${fmtShape(gy.shape)} does not match input ${fmtShape(x.shape)}`);
  }
  const bg = k.batch * groups;
  for (const [name, t] of [['mean', mean], ['rstd', rstd]] as const) {
    if (t.size !== bg) throw new ShapeError(`groupNormBackward: ${name} ${fmtShape(t.shape)} must have batch·groups = ${bg} elements for ${fmtShape(x.shape)} in ${groups} groups`);
  }
  const gx = Tensor.empty(d, x.shape);
  const ggamma = Tensor.empty(d, [k.channels]);
  const gbeta = Tensor.empty(d, [k.channels]);
  if (k.channels === 0) return { gx, ggamma, gbeta };
  const part = Tensor.empty(d, [k.batch, 2, k.channels], 'groupNorm param partials');
  const consts = affineConsts(gamma, beta, opts.silu);
  const bind = { x, gy, gamma: gamma ?? d.dummy, beta: beta ?? d.dummy, mean, rstd, gx, part };
  if (kernelStyle(d) === 'cpu' && k.spatial % 4 === 0) {
    // thread per (batch, group) with vec4 accesses (norm_backward_vec4.wgsl)
    d.run(
      { file: 'norm_backward_vec4.wgsl', source: backwardVec4Source, entry: 'main', constants: { WG: 8, ...consts } },
      { ...bind, p: { bg, groups, cpg: k.cpg, s4: k.spatial / 4, c: k.channels } },
      grid1d(d, Math.ceil(bg / 8) * 8, 8),
    );
  } else {
    const [WG, TPR] = rowLaunch(d, k.spatial, 256, bg);
    d.run(
      { file: 'norm_backward.wgsl', source: backwardSource, entry: 'main', constants: { WG, TPR, ...consts } },
      { ...bind, p: { bg, groups, cpg: k.cpg, s: k.spatial, c: k.channels } },
      grid1d(d, Math.ceil(bg / (WG / TPR)) * WG, WG),
    );
  }
  d.run(
    { file: 'norm_params.wgsl', source: paramsSource, entry: 'main', constants: { WG: 64 } },
    { part, ggamma, gbeta, p: { batch: k.batch, c: k.channels } },
    grid1d(d, k.channels, 64),
  );
  part.dispose();
  return { gx, ggamma, gbeta };
}
