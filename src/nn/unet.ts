// Noise-conditional U-Net score network in the DDPM (Ho et al. 2020) / NCSN++ (Song et al. 2021)
// style: a conv stem, per-resolution levels of residual blocks (GroupNorm → SiLU → 3×3 conv, twice,
// with the noise-level embedding added per channel after the first conv), self-attention at the
// configured low resolutions, strided-conv (or average-pool) down-sampling, nearest ×2 + 3×3 conv
// up-sampling, skip connections concatenated along channels, and an output conv back to the image.
// The noise level enters as Gaussian-Fourier features of log σ (continuous σ, NCSN++) or as the
// sinusoidal embedding of a step t (DDPM), followed by Linear–SiLU–Linear. A class-conditional
// network (cfg.classes = K) adds a learned embedding of the label y ∈ {0 … K−1, ∅ = K} to it
// (Ho & Salimans 2022's classifier-free guidance; ∅ is the dropped, unconditional label).
//
// Every layer is an op of src/autograd/ops.ts, so the whole network runs on the GPU and its
// backward is the engine's. Tensors are NCHW.
import { Module, type Param } from './module.js';
import { seeded, zeros, ones, type Rng } from './init.js';
import * as op from '../autograd/ops.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError, fmtShape } from '../gpu/errors.js';

// ------------------------------------------------------------------ configuration

export type UNetPreset = 'reference' | 'small';

export interface UNetConfig {
  /** Image channels (input and output). */
  channels: number;
  /** Height = width of the input images. */
  imageSize: number;
  /** Channels of the first level; level i has base·mults[i]. */
  base: number;
  mults: number[];
  /** Residual blocks per level on the way down (the way up has one more, as in DDPM). */
  numResBlocks: number;
  /** Spatial sizes whose level blocks get self-attention after each residual block. */
  attnResolutions: number[];
  /** Self-attention between the two middle residual blocks (at the lowest resolution). */
  midAttention: boolean;
  /** Down-sampling: a strided 3×3 conv, or 2×2 average pooling. */
  resample: 'conv' | 'avgpool';
  /** 'fourier': Gaussian-Fourier features of log σ (σ-conditioning); 'sinusoidal': of a step t. */
  embedding: 'fourier' | 'sinusoidal';
  /** Std of the Fourier frequencies (NCSN++ uses 16). */
  fourierScale: number;
  /** σ-conditioning only: return f(x, σ)/σ (NCSNv2's parametrisation). */
  scaleBySigma: boolean;
  /** GroupNorm uses min(maxGroups, C/4) groups (NCSN++'s rule), lowered until it divides C. */
  maxGroups: number;
  /** Zero-init the last conv of each residual block, the attention output and the output conv. */
  zeroInitLast: boolean;
  /** Class-conditional: K classes plus the null class ∅ = K (absent or 0: unconditional). */
  classes?: number;
  seed: number;
}

const PRESETS: Record<UNetPreset, Omit<UNetConfig, 'seed'>> = {
  // DDPM/NCSN++ layout on 28×28×1 with channels 32/64/128 at 28/14/7. With attention in every 7×7
  // level block as well as in the middle it has 3.94M parameters; the 3.6M-parameter network this
  // project benchmarks against attends only in the middle block (7×7): 3.61M.
  reference: {
    channels: 1, imageSize: 28, base: 32, mults: [1, 2, 4], numResBlocks: 2, attnResolutions: [], midAttention: true,
    resample: 'conv', embedding: 'fourier', fourierScale: 16, scaleBySigma: true, maxGroups: 32, zeroInitLast: true,
  },
  // Sized for CPU-only machines: 16/32/32 channels at 28/14/7, one block a level, attention in the
  // 7×7 middle: 268k parameters.
  small: {
    channels: 1, imageSize: 28, base: 16, mults: [1, 2, 2], numResBlocks: 1, attnResolutions: [], midAttention: true,
    resample: 'conv', embedding: 'fourier', fourierScale: 16, scaleBySigma: true, maxGroups: 32, zeroInitLast: true,
  },
};

export const UNET_PRESETS = Object.keys(PRESETS) as UNetPreset[];

/** A preset with fields overridden; validated (sizes must halve evenly down to the lowest level). */
export function unetConfig(preset: UNetPreset = 'small', overrides: Partial<UNetConfig> = {}): UNetConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown U-Net preset '${preset}' (have ${UNET_PRESETS.join(', ')})`);
  const cfg: UNetConfig = { ...base, seed: 0, ...overrides, mults: [...(overrides.mults ?? base.mults)], attnResolutions: [...(overrides.attnResolutions ?? base.attnResolutions)] };
  const levels = cfg.mults.length;
  if (levels < 1) throw new Error('U-Net: mults must name at least one level');
  if (cfg.imageSize % 2 ** (levels - 1) !== 0) {
    throw new Error(`U-Net: image size ${cfg.imageSize} does not halve evenly through ${levels} levels (needs a multiple of ${2 ** (levels - 1)})`);
  }
  if (cfg.numResBlocks < 1) throw new Error('U-Net: numResBlocks must be >= 1');
  if (cfg.embedding === 'sinusoidal' && cfg.scaleBySigma) cfg.scaleBySigma = false; // a step t is not a σ
  if (cfg.classes !== undefined && !(Number.isInteger(cfg.classes) && cfg.classes >= 0 && cfg.classes <= 4096)) throw new Error(`U-Net: classes must be an integer in [0, 4096], got ${cfg.classes}`);
  return cfg;
}

/** Spatial size of each level. */
export function levelSizes(cfg: UNetConfig): number[] {
  return cfg.mults.map((_, i) => cfg.imageSize / 2 ** i);
}

/** GroupNorm group count for C channels: min(maxGroups, C/4), lowered until it divides C. */
export function groupsFor(c: number, maxGroups: number): number {
  let g = Math.max(1, Math.min(maxGroups, Math.floor(c / 4)));
  while (c % g) g--;
  return g;
}

// ------------------------------------------------------------------ initialisation

/** DDPM's default_init: variance scaling, fan_avg, uniform; bound √(3·scale / fan_avg). */
function varianceScaling(rng: Rng, n: number, fanIn: number, fanOut: number, scale = 1): Float32Array {
  if (scale === 0) return zeros(n);
  return rng.uniform(n, Math.sqrt((3 * scale) / ((fanIn + fanOut) / 2)));
}

// ------------------------------------------------------------------ layers

/** 2-D convolution, weight [Cout, Cin, k, k], bias [Cout]; 'same' padding for odd k by default. */
export class Conv2d extends Module {
  readonly weight: Param;
  readonly bias: Param;
  readonly stride: number;
  readonly padding: number;
  constructor(rng: Rng, readonly cin: number, readonly cout: number, readonly k: number, opts: { stride?: number; padding?: number; initScale?: number } = {}) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? (k - 1) / 2;
    this.weight = this.param('weight', [cout, cin, k, k], varianceScaling(rng, cout * cin * k * k, cin * k * k, cout * k * k, opts.initScale ?? 1));
    this.bias = this.param('bias', [cout], zeros(cout));
  }
  /** `adds`: a per-(image, channel) bias and/or a residual, fused into the conv where the path allows. */
  forward(x: Tensor, adds: op.ConvAdds = {}): Tensor {
    return op.conv2d(x, this.weight.value, this.bias.value, { stride: this.stride, padding: this.padding, ...adds });
  }
  /**
   * forward(silu(norm(x))) as one op (autograd groupNormConv2d), x whole or the parts of its
   * channel concatenation; `side`: a conv of x itself as well (a skip projection), returned beside.
   */
  forwardNormed(norm: GroupNorm, x: Tensor | Tensor[], adds: op.ConvAdds = {}, side?: Conv2d | null): { y: Tensor; side: Tensor | null } {
    const n = { groups: norm.groups, gamma: norm.gamma.value, beta: norm.beta.value, eps: norm.eps, silu: true };
    const s = side ? { w: side.weight.value, bias: side.bias.value, stride: side.stride, padding: side.padding } : null;
    return op.groupNormConv2d(x, n, this.weight.value, this.bias.value, { stride: this.stride, padding: this.padding, ...adds }, s);
  }
  /** forward(upsampleNearest2d(x, 2)) as one op (autograd upsample2Conv2d). */
  forwardUpsampled(x: Tensor, adds: op.ConvAdds = {}): Tensor {
    return op.upsample2Conv2d(x, this.weight.value, this.bias.value, { stride: this.stride, padding: this.padding, ...adds });
  }
}

/** y = x·W + b, W [in, out], variance-scaling init and zero bias (DDPM's dense). */
export class Dense extends Module {
  readonly weight: Param;
  readonly bias: Param;
  constructor(rng: Rng, readonly inFeatures: number, readonly outFeatures: number, initScale = 1) {
    super();
    this.weight = this.param('weight', [inFeatures, outFeatures], varianceScaling(rng, inFeatures * outFeatures, inFeatures, outFeatures, initScale), { transpose: true });
    this.bias = this.param('bias', [outFeatures], zeros(outFeatures));
  }
  forward(x: Tensor): Tensor {
    return op.linear(x, this.weight.value, this.bias.value);
  }
}

/** GroupNorm with affine γ (ones), β (zeros); optionally followed by SiLU. */
export class GroupNorm extends Module {
  readonly gamma: Param;
  readonly beta: Param;
  readonly groups: number;
  constructor(readonly numChannels: number, maxGroups: number, readonly eps = 1e-6) {
    super();
    this.groups = groupsFor(numChannels, maxGroups);
    this.gamma = this.param('gamma', [numChannels], ones(numChannels), { name: 'weight' });
    this.beta = this.param('beta', [numChannels], zeros(numChannels), { name: 'bias' });
  }
  forward(x: Tensor, silu = false): Tensor {
    return op.groupNorm(x, this.groups, this.gamma.value, this.beta.value, { eps: this.eps, silu });
  }
}

/**
 * DDPM residual block: h = conv1(silu(gn1(x))) + Dense(silu(temb))[:, :, None, None];
 * out = skip(x) + conv2(silu(gn2(h))), skip a 1×1 conv when the channel count changes.
 */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly temb: Dense;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly skip: Conv2d | null;
  constructor(rng: Rng, readonly cin: number, readonly cout: number, tembDim: number, cfg: UNetConfig) {
    super();
    this.norm1 = this.child('norm1', new GroupNorm(cin, cfg.maxGroups));
    this.conv1 = this.child('conv1', new Conv2d(rng, cin, cout, 3));
    this.temb = this.child('temb', new Dense(rng, tembDim, cout));
    this.norm2 = this.child('norm2', new GroupNorm(cout, cfg.maxGroups));
    this.conv2 = this.child('conv2', new Conv2d(rng, cout, cout, 3, { initScale: cfg.zeroInitLast ? 0 : 1 }));
    this.skip = cin !== cout ? this.child('skip', new Conv2d(rng, cin, cout, 1)) : null;
  }
  /**
   * x [B, Cin, H, W], or the parts of its concatenation along channels (a skip connection on the
   * way up); tembAct = silu(temb) [B, T]. Each norm runs fused with the conv after it (and norm1
   * with the skip projection, which reads the same x); the embedding and residual adds ride in the
   * convs' epilogues.
   */
  forward(x: Tensor | Tensor[], tembAct: Tensor): Tensor {
    // the parts are read in place only for the skip projection and norm1, which both read x
    if (Array.isArray(x) && !this.skip) x = op.concat(x, 1);
    const cbias = this.temb.forward(tembAct);
    const { y: h, side } = this.conv1.forwardNormed(this.norm1, x, { cbias }, this.skip);
    return this.conv2.forwardNormed(this.norm2, h, { residual: side ?? (x as Tensor) }).y;
  }
}

/**
 * Self-attention over the H·W positions: GroupNorm, q/k/v 1×1 projections as matmuls over
 * [B, HW, C], softmax(QKᵀ/√C)·V, output projection, residual.
 */
export class AttnBlock extends Module {
  readonly norm: GroupNorm;
  readonly q: Dense;
  readonly k: Dense;
  readonly v: Dense;
  readonly out: Dense;
  constructor(rng: Rng, readonly c: number, cfg: UNetConfig) {
    super();
    this.norm = this.child('norm', new GroupNorm(c, cfg.maxGroups));
    this.q = this.child('q', new Dense(rng, c, c));
    this.k = this.child('k', new Dense(rng, c, c));
    this.v = this.child('v', new Dense(rng, c, c));
    this.out = this.child('out', new Dense(rng, c, c, cfg.zeroInitLast ? 0 : 1));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape;
    const h = op.transpose(op.reshape(this.norm.forward(x), [B, C, H * W]), [0, 2, 1]); // [B, HW, C]
    const q = this.q.forward(h), k = this.k.forward(h), v = this.v.forward(h);
    const w = op.softmax(op.scale(op.matmul(q, k, { transB: true }), 1 / Math.sqrt(C)), -1); // [B, HW, HW]
    const o = this.out.forward(op.matmul(w, v)); // [B, HW, C]
    return op.add(x, op.reshape(op.transpose(o, [0, 2, 1]), [B, C, H, W]));
  }
}

/** Halve the resolution: 3×3 conv with stride 2 (padding 1), or 2×2 average pooling. */
export class Downsample extends Module {
  readonly conv: Conv2d | null;
  constructor(rng: Rng, readonly c: number, readonly mode: 'conv' | 'avgpool') {
    super();
    this.conv = mode === 'conv' ? this.child('conv', new Conv2d(rng, c, c, 3, { stride: 2, padding: 1 })) : null;
  }
  forward(x: Tensor): Tensor {
    return this.conv ? this.conv.forward(x) : op.avgPool2d(x, 2);
  }
}

/** Double the resolution: nearest ×2, then a 3×3 conv. */
export class Upsample extends Module {
  readonly conv: Conv2d;
  constructor(rng: Rng, readonly c: number) {
    super();
    this.conv = this.child('conv', new Conv2d(rng, c, c, 3));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forwardUpsampled(x);
  }
}

/**
 * The noise-level embedding (DDPM's and NCSN++'s): features of the level, then Linear–SiLU–Linear
 * to [B, 4·base]. 'fourier': score_sde's GaussianFourierProjection(embedding_size = base, scale),
 * 2·base features [sin, cos](2π W log σ) with fixed W ~ N(0, scale²); 'sinusoidal': DDPM's
 * get_timestep_embedding(t, base), [sin, cos](t·exp(−ln(10⁴)·i/(half − 1))). The U-Net and the
 * noise classifier that guides it share it; its parameters are named embed0.*, embed1.* as the
 * owner's own (the owner registers it under the name ''), so their files name them as before.
 */
export class NoiseLevelEmbedding extends Module {
  readonly dim: number;
  /** Frequencies (multiplied by log σ or t, then sin and cos): a constant, not a parameter. */
  readonly freqs: Float32Array;
  readonly embed0: Dense;
  readonly embed1: Dense;
  private readonly ofLog: boolean;
  private freqT: Tensor | null = null;

  /** `rng`: the owner's generator (the frequencies and both layers are drawn from it, in that order); `who` names the owner in errors. */
  constructor(rng: Rng, cfg: { base: number; embedding: 'fourier' | 'sinusoidal'; fourierScale: number }, private readonly who: string) {
    super();
    const nf = cfg.base;
    this.dim = 4 * nf;
    this.ofLog = cfg.embedding === 'fourier';
    if (cfg.embedding === 'fourier') this.freqs = rng.normal(nf, 2 * Math.PI * cfg.fourierScale);
    else {
      const half = nf / 2;
      this.freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / Math.max(1, half - 1)));
    }
    this.embed0 = this.child('embed0', new Dense(rng, 2 * this.freqs.length, this.dim));
    this.embed1 = this.child('embed1', new Dense(rng, this.dim, this.dim));
  }

  /** σ (with 'fourier') or t, [B, 1] → [B, 4·base]. */
  forward(level: Tensor): Tensor {
    const B = level.shape[0];
    if (level.size !== B) throw new ShapeError(`${this.who}: noise level must be [B, 1], got ${fmtShape(level.shape)}`);
    const s = op.reshape(level, [B, 1]);
    this.freqT ??= Tensor.fromArray(s.device, this.freqs, [1, this.freqs.length], `${this.who} noise-level frequencies`).keep();
    const a = op.mul(this.ofLog ? op.log(s) : s, this.freqT); // [B, half]
    return this.embed1.forward(op.silu(this.embed0.forward(op.concat([op.sin(a), op.cos(a)], 1))));
  }
}

/**
 * A label embedding: row y of a table [K + 1, T] (K classes and the null class ∅ = K), read as
 * one-hot(y)·E so that its gradient is the matmul's (E's rows get Σ over the batch rows with that label).
 */
export class LabelEmbedding extends Module {
  readonly weight: Param;
  constructor(rng: Rng, readonly rows: number, readonly dim: number) {
    super();
    // DDPM's default_init of a dense layer from the one-hot label
    this.weight = this.param('weight', [rows, dim], varianceScaling(rng, rows * dim, rows, dim));
  }
  /** labels [B, 1] or [B] (integers 0 … rows−1 as f32) → [B, dim]. */
  forward(labels: Tensor): Tensor {
    const B = labels.shape[0];
    if (labels.size !== B) throw new ShapeError(`label embedding: labels must be [B, 1], got ${fmtShape(labels.shape)}`);
    const K = this.rows;
    const eye = Tensor.constant(labels.device, `unet.eye${K}`, Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)), [K, K]);
    return op.matmul(op.gather(eye, op.reshape(labels, [B])), this.weight.value);
  }
}

/** One residual block, optionally followed by attention. */
export interface UNetStage {
  res: ResBlock;
  attn: AttnBlock | null;
}

// ------------------------------------------------------------------ the network

export class UNet extends Module {
  readonly kind = 'score' as const;
  readonly tembDim: number;
  readonly noiseEmbedding: NoiseLevelEmbedding;
  /** Class-conditional networks: the label embedding added to the noise-level one (null otherwise). */
  readonly classEmbed: LabelEmbedding | null;
  readonly convIn: Conv2d;
  /** Per level, top (0) to bottom: its stages, then its down-sampler (none at the bottom). */
  readonly down: { stages: UNetStage[]; down: Downsample | null }[] = [];
  readonly mid: { res1: ResBlock; attn: AttnBlock | null; res2: ResBlock };
  /** Per level, bottom to top: numResBlocks+1 stages, then an up-sampler (none at the top). */
  readonly up: { stages: UNetStage[]; up: Upsample | null }[] = [];
  readonly normOut: GroupNorm;
  readonly convOut: Conv2d;

  constructor(readonly cfg: UNetConfig) {
    super();
    const rng = seeded(cfg.seed * 104729 + 17);
    const nf = cfg.base;
    this.noiseEmbedding = this.child('', new NoiseLevelEmbedding(rng, cfg, 'U-Net'));
    this.tembDim = this.noiseEmbedding.dim;
    // its own generator, so every other weight is the unconditional network's of the same seed
    this.classEmbed = cfg.classes ? this.child('classEmbed', new LabelEmbedding(seeded(cfg.seed * 104729 + 31), cfg.classes + 1, this.tembDim)) : null;
    this.convIn = this.child('convIn', new Conv2d(rng, cfg.channels, nf, 3));

    const sizes = levelSizes(cfg);
    const skipCh: number[] = [nf];
    let ch = nf;
    cfg.mults.forEach((m, i) => {
      const stages: UNetStage[] = [];
      for (let j = 0; j < cfg.numResBlocks; j++) {
        const res = this.child(`down${i}.res${j}`, new ResBlock(rng, ch, nf * m, this.tembDim, cfg));
        ch = nf * m;
        const attn = cfg.attnResolutions.includes(sizes[i]) ? this.child(`down${i}.attn${j}`, new AttnBlock(rng, ch, cfg)) : null;
        stages.push({ res, attn });
        skipCh.push(ch);
      }
      let down: Downsample | null = null;
      if (i < cfg.mults.length - 1) {
        down = this.child(`down${i}.down`, new Downsample(rng, ch, cfg.resample));
        skipCh.push(ch);
      }
      this.down.push({ stages, down });
    });

    this.mid = {
      res1: this.child('mid.res1', new ResBlock(rng, ch, ch, this.tembDim, cfg)),
      attn: cfg.midAttention ? this.child('mid.attn', new AttnBlock(rng, ch, cfg)) : null,
      res2: this.child('mid.res2', new ResBlock(rng, ch, ch, this.tembDim, cfg)),
    };

    for (let i = cfg.mults.length - 1; i >= 0; i--) {
      const stages: UNetStage[] = [];
      for (let j = 0; j <= cfg.numResBlocks; j++) {
        const res = this.child(`up${i}.res${j}`, new ResBlock(rng, ch + skipCh.pop()!, nf * cfg.mults[i], this.tembDim, cfg));
        ch = nf * cfg.mults[i];
        const attn = cfg.attnResolutions.includes(sizes[i]) ? this.child(`up${i}.attn${j}`, new AttnBlock(rng, ch, cfg)) : null;
        stages.push({ res, attn });
      }
      const up = i > 0 ? this.child(`up${i}.up`, new Upsample(rng, ch)) : null;
      this.up.push({ stages, up });
    }
    if (skipCh.length) throw new Error('U-Net: unbalanced skip connections'); // construction invariant

    this.normOut = this.child('normOut', new GroupNorm(ch, cfg.maxGroups));
    this.convOut = this.child('convOut', new Conv2d(rng, ch, cfg.channels, 3, { initScale: cfg.zeroInitLast ? 0 : 1 }));
  }

  /** The label a class-conditional network reads for "no class" (∅): index K. */
  get nullLabel(): number {
    return this.cfg.classes ?? 0;
  }

  /**
   * x [B, C, H, W], σ (or t) [B, 1] → [B, C, H, W]. A class-conditional network also reads labels
   * y [B, 1] (integers as f32, ∅ = cfg.classes; without labels every row is ∅: the unconditional model).
   */
  forward(x: Tensor, sigmaOrT: Tensor, labels?: Tensor): Tensor {
    const { cfg } = this;
    if (x.rank !== 4 || x.shape[1] !== cfg.channels || x.shape[2] !== cfg.imageSize || x.shape[3] !== cfg.imageSize) {
      throw new ShapeError(`U-Net: input ${fmtShape(x.shape)} is not [B, ${cfg.channels}, ${cfg.imageSize}, ${cfg.imageSize}]`);
    }
    if (sigmaOrT.shape[0] !== x.shape[0]) throw new ShapeError(`U-Net: noise level ${fmtShape(sigmaOrT.shape)} does not match batch ${fmtShape(x.shape)}`);
    if (labels && !this.classEmbed) throw new ShapeError('U-Net: labels given to a network that is not class-conditional');
    if (labels && labels.shape[0] !== x.shape[0]) throw new ShapeError(`U-Net: labels ${fmtShape(labels.shape)} do not match batch ${fmtShape(x.shape)}`);
    let emb = this.noiseEmbedding.forward(sigmaOrT);
    if (this.classEmbed) {
      const B = x.shape[0];
      const y = labels ?? Tensor.constant(x.device, `unet.null${this.nullLabel}x${B}`, new Float32Array(B).fill(this.nullLabel), [B, 1]);
      emb = op.add(emb, this.classEmbed.forward(y));
    }
    const temb = op.silu(emb); // every block applies Dense(silu(temb))
    const stage = (s: UNetStage, h: Tensor | Tensor[]) => {
      const r = s.res.forward(h, temb);
      return s.attn ? s.attn.forward(r) : r;
    };

    let h = this.convIn.forward(x);
    const hs: Tensor[] = [h];
    for (const lvl of this.down) {
      for (const s of lvl.stages) hs.push((h = stage(s, h)));
      if (lvl.down) hs.push((h = lvl.down.forward(h)));
    }
    h = this.mid.res1.forward(h, temb);
    if (this.mid.attn) h = this.mid.attn.forward(h);
    h = this.mid.res2.forward(h, temb);
    for (const lvl of this.up) {
      for (const s of lvl.stages) h = stage(s, [h, hs.pop()!]);
      if (lvl.up) h = lvl.up.forward(h);
    }
    h = this.convOut.forward(this.normOut.forward(h, true));
    if (cfg.scaleBySigma) h = op.div(h, op.reshape(sigmaOrT, [x.shape[0], 1, 1, 1]));
    return h;
  }

  /** ScoreModel interface: s_θ(x, σ). */
  score(x: Tensor, sigma?: Tensor): Tensor {
    if (!sigma) throw new Error('U-Net: the score needs a noise level σ (or t) [B, 1]');
    return this.forward(x, sigma);
  }
}

/** Build a U-Net from a preset (with overrides); call `materialize(device, net)` to place it on a device. */
export function createUNet(preset: UNetPreset = 'small', overrides: Partial<UNetConfig> = {}): UNet {
  return new UNet(unetConfig(preset, overrides));
}
