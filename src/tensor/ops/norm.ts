// GroupNorm over [B, C, ...spatial] (NCHW, [B, C, L] or [B, C]) with optional affine γ, β and a
// fused SiLU (shaders/norm.wgsl); its backward (shaders/norm_backward.wgsl + norm_params.wgsl).
// A workgroup per (batch, group) with workgroup-memory reductions on GPUs, a thread per (batch,
// group) on CPU adapters (kernelStyle in reduce.ts); the forward is one dispatch, the backward two.
import source from '../../../shaders/norm.wgsl';
import backwardSource from '../../../shaders/norm_backward.wgsl';
import paramsSource from '../../../shaders/norm_params.wgsl';
import statsVec4 from '../../../shaders/norm_stats_vec4.wgsl';
import vec4Part from '../../../shaders/norm_vec4.wgsl';
import backwardVec4Source from '../../../shaders/norm_backward_vec4.wgsl';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';
import { rowLaunch, kernelStyle } from './reduce.js';

// the vec4 forward kernels share their statistics pass (WGSL has no includes; norm_conv.ts's
// norm_pack.wgsl takes it too)
const vec4Source = statsVec4 + vec4Part;

export interface GroupNormOptions {
  /** Apply SiLU to the output in the same kernel. */
  silu?: boolean;
}

/** The override constants every GroupNorm kernel takes. */
export function affineConsts(gamma: Tensor | undefined, beta: Tensor | undefined, silu: boolean | undefined) {
  return { HAS_GAMMA: gamma ? 1 : 0, HAS_BETA: beta ? 1 : 0, SILU: silu ? 1 : 0 };
}

export interface GroupNormDims {
  batch: number;
  channels: number;
  spatial: number;
  cpg: number;
}

/** Check a GroupNorm's shapes: x [B, C, ...], groups dividing C, γ and β of C elements. */
export function groupNormDims(op: string, x: Pick<Tensor, 'rank' | 'shape' | 'size'>, groups: number, gamma?: Tensor, beta?: Tensor): GroupNormDims {
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
  const k = groupNormDims('groupNorm', x, groups, gamma, beta);
  const y = Tensor.empty(d, x.shape);
  const mean = Tensor.empty(d, [k.batch, groups]);
  const rstd = Tensor.empty(d, [k.batch, groups]);
  const bg = k.batch * groups;
  if (x.size === 0) return { y, mean, rstd };
  const consts = affineConsts(gamma, beta, opts.silu);
  const bind = { x, gamma: gamma ?? d.dummy, beta: beta ?? d.dummy, out: y, mean, rstd };
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
  const k = groupNormDims('groupNormBackward', x, groups, gamma, beta);
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
