// Float64 CPU reference of src/nn/unet.ts, composed from the references in src/tensor/cpu/*. It
// walks the same module tree (for each layer's configuration) but takes every parameter value from
// `P` (float64 copies of what the GPU arena holds), so a test can perturb them for finite differences.
import type { Param } from '../src/nn/module.js';
import type { UNet, Conv2d, Dense, GroupNorm, ResBlock, AttnBlock, Downsample, Upsample } from '../src/nn/unet.js';
import { conv2dRef } from '../src/tensor/cpu/conv2d.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import { groupNormRef } from '../src/tensor/cpu/norm.js';
import { softmaxRef } from '../src/tensor/cpu/softmax.js';
import { transposeRef, concatRef } from '../src/tensor/cpu/layout.js';
import { avgPool2dRef, upsampleNearest2dRef } from '../src/tensor/cpu/pool.js';

export interface Arr {
  d: Float64Array;
  s: number[];
}
export type ParamValues = Map<Param, Float64Array>;

const silu = (a: Arr): Arr => ({ d: a.d.map((x) => x / (1 + Math.exp(-x))), s: a.s });
const add = (a: Arr, b: Arr): Arr => ({ d: a.d.map((x, i) => x + b.d[i]), s: a.s });

function conv(P: ParamValues, m: Conv2d, x: Arr): Arr {
  const y = conv2dRef(x.d, x.s, P.get(m.weight)!, m.weight.shape, { stride: m.stride, padding: m.padding, bias: P.get(m.bias)! });
  return { d: y.data, s: y.shape };
}

/** x [..., in] → [..., out] */
function dense(P: ParamValues, m: Dense, x: Arr): Arr {
  const rows = x.d.length / m.inFeatures;
  const y = matmulRef(x.d, [rows, m.inFeatures], P.get(m.weight)!, m.weight.shape, { bias: P.get(m.bias)! });
  return { d: y.data, s: [...x.s.slice(0, -1), m.outFeatures] };
}

function gn(P: ParamValues, m: GroupNorm, x: Arr, act = false): Arr {
  return { d: groupNormRef(x.d, x.s, m.groups, P.get(m.gamma)!, P.get(m.beta)!, m.eps, act).y, s: x.s };
}

function resBlock(P: ParamValues, m: ResBlock, x: Arr, tembAct: Arr): Arr {
  const [B, , H, W] = x.s;
  let h = conv(P, m.conv1, gn(P, m.norm1, x, true));
  const e = dense(P, m.temb, tembAct); // [B, Cout]
  h = { d: h.d.map((v, i) => v + e.d[Math.floor(i / (H * W))]), s: h.s }; // per (b, c) plane
  if (h.d.length !== B * m.cout * H * W) throw new Error('resBlock ref: shape');
  h = conv(P, m.conv2, gn(P, m.norm2, h, true));
  return add(m.skip ? conv(P, m.skip, x) : x, h);
}

function attn(P: ParamValues, m: AttnBlock, x: Arr): Arr {
  const [B, C, H, W] = x.s;
  const N = H * W;
  const hn = gn(P, m.norm, x);
  const h: Arr = { d: transposeRef(hn.d, [B, C, N], [0, 2, 1]), s: [B, N, C] };
  const q = dense(P, m.q, h), k = dense(P, m.k, h), v = dense(P, m.v, h);
  const sc = matmulRef(q.d, q.s, k.d, k.s, { transB: true }).data.map((z) => z / Math.sqrt(C));
  const w = softmaxRef('softmax', sc, [B, N, N], 2);
  const o = dense(P, m.out, { d: matmulRef(w, [B, N, N], v.d, v.s).data, s: [B, N, C] });
  return add(x, { d: transposeRef(o.d, [B, N, C], [0, 2, 1]), s: x.s });
}

function down(P: ParamValues, m: Downsample, x: Arr): Arr {
  if (m.conv) return conv(P, m.conv, x);
  const [B, C, H, W] = x.s;
  return { d: avgPool2dRef(x.d, x.s, 2), s: [B, C, H / 2, W / 2] };
}

function up(P: ParamValues, m: Upsample, x: Arr): Arr {
  const [B, C, H, W] = x.s;
  return conv(P, m.conv, { d: upsampleNearest2dRef(x.d, x.s, 2), s: [B, C, 2 * H, 2 * W] });
}

const cat = (a: Arr, b: Arr): Arr => ({ d: concatRef([{ data: a.d, shape: a.s }, { data: b.d, shape: b.s }], 1), s: [a.s[0], a.s[1] + b.s[1], ...a.s.slice(2)] });

/**
 * The U-Net's output for x [B, C, H, W] and noise levels σ (or steps t) [B], in float64; a
 * class-conditional network adds row y of its label table to the embedding (labels [B], default ∅).
 */
export function unetRef(net: UNet, P: ParamValues, x: Arr, sigmaOrT: Float64Array, labels?: ArrayLike<number>): Arr {
  const { cfg } = net;
  const B = x.s[0];
  const half = net.noiseEmbedding.freqs.length;
  const feat = new Float64Array(B * 2 * half);
  for (let b = 0; b < B; b++) {
    const s = cfg.embedding === 'fourier' ? Math.log(sigmaOrT[b]) : sigmaOrT[b];
    for (let i = 0; i < half; i++) {
      const a = s * net.noiseEmbedding.freqs[i];
      feat[b * 2 * half + i] = Math.sin(a);
      feat[b * 2 * half + half + i] = Math.cos(a);
    }
  }
  let emb = dense(P, net.noiseEmbedding.embed1, silu(dense(P, net.noiseEmbedding.embed0, { d: feat, s: [B, 2 * half] })));
  if (net.classEmbed) {
    const E = P.get(net.classEmbed.weight)!, T = net.classEmbed.dim;
    emb = { d: emb.d.map((v, i) => v + E[(labels?.[Math.floor(i / T)] ?? net.nullLabel) * T + (i % T)]), s: emb.s };
  }
  const temb = silu(emb);

  let h = conv(P, net.convIn, x);
  const hs: Arr[] = [h];
  for (const lvl of net.down) {
    for (const st of lvl.stages) {
      h = resBlock(P, st.res, h, temb);
      if (st.attn) h = attn(P, st.attn, h);
      hs.push(h);
    }
    if (lvl.down) hs.push((h = down(P, lvl.down, h)));
  }
  h = resBlock(P, net.mid.res1, h, temb);
  if (net.mid.attn) h = attn(P, net.mid.attn, h);
  h = resBlock(P, net.mid.res2, h, temb);
  for (const lvl of net.up) {
    for (const st of lvl.stages) {
      h = resBlock(P, st.res, cat(h, hs.pop()!), temb);
      if (st.attn) h = attn(P, st.attn, h);
    }
    if (lvl.up) h = up(P, lvl.up, h);
  }
  h = conv(P, net.convOut, gn(P, net.normOut, h, true));
  if (cfg.scaleBySigma) {
    const per = h.d.length / B;
    h = { d: h.d.map((v, i) => v / sigmaOrT[Math.floor(i / per)]), s: h.s };
  }
  return h;
}
