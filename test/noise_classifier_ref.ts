// Float64 CPU reference of src/nn/noise_classifier.ts, composed from the references in
// src/tensor/cpu/*: the module tree gives each layer's configuration, `P` (float64 copies of the
// GPU arena's values) every parameter, so a test can differentiate it by finite differences.
import type { Param } from '../src/nn/module.js';
import type { NoiseClassifier } from '../src/nn/noise_classifier.js';
import type { Conv2d, Dense, GroupNorm, ResBlock } from '../src/nn/unet.js';
import { conv2dRef } from '../src/tensor/cpu/conv2d.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import { groupNormRef } from '../src/tensor/cpu/norm.js';
import { softmaxRef } from '../src/tensor/cpu/softmax.js';

export interface Arr {
  d: Float64Array;
  s: number[];
}
export type ParamValues = Map<Param, Float64Array>;

const silu = (a: Arr): Arr => ({ d: a.d.map((x) => x / (1 + Math.exp(-x))), s: a.s });

function conv(P: ParamValues, m: Conv2d, x: Arr): Arr {
  const y = conv2dRef(x.d, x.s, P.get(m.weight)!, m.weight.shape, { stride: m.stride, padding: m.padding, bias: P.get(m.bias)! });
  return { d: y.data, s: y.shape };
}

function dense(P: ParamValues, m: Dense, x: Arr): Arr {
  const rows = x.d.length / m.inFeatures;
  const y = matmulRef(x.d, [rows, m.inFeatures], P.get(m.weight)!, m.weight.shape, { bias: P.get(m.bias)! });
  return { d: y.data, s: [...x.s.slice(0, -1), m.outFeatures] };
}

function gn(P: ParamValues, m: GroupNorm, x: Arr, act: boolean): Arr {
  return { d: groupNormRef(x.d, x.s, m.groups, P.get(m.gamma)!, P.get(m.beta)!, m.eps, act).y, s: x.s };
}

function resBlock(P: ParamValues, m: ResBlock, x: Arr, tembAct: Arr): Arr {
  const [, , H, W] = x.s;
  let h = conv(P, m.conv1, gn(P, m.norm1, x, true));
  const e = dense(P, m.temb, tembAct);
  h = { d: h.d.map((v, i) => v + e.d[Math.floor(i / (H * W))]), s: h.s };
  h = conv(P, m.conv2, gn(P, m.norm2, h, true));
  const skip = m.skip ? conv(P, m.skip, x) : x;
  return { d: h.d.map((v, i) => v + skip.d[i]), s: h.s };
}

/** Logits [B, classes] for x [B, C, H, W] and noise-level inputs cond [B]. */
export function noiseClassifierRef(net: NoiseClassifier, P: ParamValues, x: Arr, cond: ArrayLike<number>): Arr {
  const B = x.s[0];
  const half = net.noiseEmbedding.freqs.length;
  const feat = new Float64Array(B * 2 * half);
  for (let b = 0; b < B; b++) {
    const s = net.cfg.embedding === 'fourier' ? Math.log(cond[b]) : cond[b];
    for (let i = 0; i < half; i++) {
      feat[b * 2 * half + i] = Math.sin(s * net.noiseEmbedding.freqs[i]);
      feat[b * 2 * half + half + i] = Math.cos(s * net.noiseEmbedding.freqs[i]);
    }
  }
  const temb = silu(dense(P, net.noiseEmbedding.embed1, silu(dense(P, net.noiseEmbedding.embed0, { d: feat, s: [B, 2 * half] }))));
  let h = conv(P, net.convIn, x);
  for (const lvl of net.levels) {
    for (const b of lvl.blocks) h = resBlock(P, b, h, temb);
    if (lvl.down) h = conv(P, lvl.down.conv!, h);
  }
  h = gn(P, net.normOut, h, true);
  const [, C, H, W] = h.s;
  if (net.cfg.pool === 'flatten') return dense(P, net.head, { d: h.d, s: [B, C * H * W] });
  const pooled = new Float64Array(B * C);
  for (let i = 0; i < B * C; i++) {
    let acc = 0;
    for (let j = 0; j < H * W; j++) acc += h.d[i * H * W + j];
    pooled[i] = acc / (H * W);
  }
  return dense(P, net.head, { d: pooled, s: [B, C] });
}

/** Σ_b log p(y | x_b, cond_b) in float64. */
export function logProbRef(net: NoiseClassifier, P: ParamValues, x: Arr, cond: ArrayLike<number>, label: number): number {
  const l = noiseClassifierRef(net, P, x, cond);
  const K = net.cfg.classes;
  const lp = softmaxRef('logSoftmax', l.d, l.s, 1);
  let s = 0;
  for (let b = 0; b < x.s[0]; b++) s += lp[b * K + label];
  return s;
}

/** ∇ₓ of logProbRef by central differences (step h per coordinate). */
export function logProbGradFd(net: NoiseClassifier, P: ParamValues, x: Arr, cond: ArrayLike<number>, label: number, h = 1e-5): Float64Array {
  const g = new Float64Array(x.d.length);
  const xp = Float64Array.from(x.d);
  for (let i = 0; i < xp.length; i++) {
    const v = xp[i];
    xp[i] = v + h;
    const fp = logProbRef(net, P, { d: xp, s: x.s }, cond, label);
    xp[i] = v - h;
    const fm = logProbRef(net, P, { d: xp, s: x.s }, cond, label);
    xp[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}
