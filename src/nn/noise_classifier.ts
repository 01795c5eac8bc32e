// A noise-conditional classifier p_φ(y | x_t, t) for classifier guidance (Song et al. 2021, §5;
// Dhariwal & Nichol 2021, who use the U-Net's encoder half): the down path of the U-Net
// (./unet.ts) — conv stem (optionally strided), per level residual blocks with the noise-level embedding added per
// channel, strided-conv down-sampling — then GroupNorm → SiLU, the mean over the positions (or the
// map flattened) and a linear head to the class logits. The noise level enters exactly as in the U-Net it guides:
// Gaussian-Fourier features of log σ (σ-conditioned NCSN/VE models) or the sinusoidal embedding of
// a step t (DDPM, VP), then Linear–SiLU–Linear; it reads the same `cond` column the sampler feeds
// the score network, so one noise-level input drives both.
//
//   x_t [B, C, H, W], cond [B, 1] → logits [B, classes]
import { Module } from './module.js';
import { seeded } from './init.js';
import { Conv2d, Dense, GroupNorm, ResBlock, Downsample, NoiseLevelEmbedding, type UNetConfig } from './unet.js';
import * as op from '../autograd/ops.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError, fmtShape } from '../gpu/errors.js';

export interface NoiseClassifierConfig {
  channels: number;
  imageSize: number;
  /** Channels of the first level; level i has base·mults[i] (each level after the first halves the size). */
  base: number;
  mults: number[];
  numResBlocks: number;
  /** Stride of the stem conv: 2 starts the levels at half the image size (a quarter of the work there). */
  stemStride: 1 | 2;
  /** As the guided U-Net's: 'fourier' (of log σ) or 'sinusoidal' (of t). */
  embedding: 'fourier' | 'sinusoidal';
  fourierScale: number;
  maxGroups: number;
  /**
   * How the last level's map reaches the head: 'mean' over the positions (Dhariwal & Nichol's
   * pooling without attention) or 'flatten' (every position its own weights: the head sees where
   * the features are, as the evaluation classifier's dense layer does).
   */
  pool: 'mean' | 'flatten';
  classes: number;
  seed: number;
}

/**
 * The down path of the small U-Net preset with a strided stem: 16/32 channels at 14/7 for 28×28
 * images, one residual block a level (52k parameters) — about a quarter of the small U-Net's work,
 * since guidance runs its forward and backward at every sampler step.
 */
export function noiseClassifierConfig(over: Partial<NoiseClassifierConfig> = {}): NoiseClassifierConfig {
  const cfg: NoiseClassifierConfig = {
    channels: 1, imageSize: 28, base: 16, mults: [2, 2], numResBlocks: 1, stemStride: 2, embedding: 'sinusoidal', fourierScale: 16, maxGroups: 32, pool: 'mean', classes: 10, seed: 0,
    ...over,
  };
  cfg.mults = [...cfg.mults];
  if (!(cfg.mults.length >= 1 && cfg.mults.length <= 6)) throw new Error(`noise classifier: mults must name 1 to 6 levels, got ${cfg.mults.length}`);
  if (cfg.stemStride !== 1 && cfg.stemStride !== 2) throw new Error(`noise classifier: stemStride must be 1 or 2, got ${cfg.stemStride}`);
  if (cfg.imageSize % (cfg.stemStride * 2 ** (cfg.mults.length - 1))) throw new Error(`noise classifier: image size ${cfg.imageSize} does not halve evenly through the stem and ${cfg.mults.length} levels`);
  if (!(Number.isInteger(cfg.numResBlocks) && cfg.numResBlocks >= 1)) throw new Error('noise classifier: numResBlocks must be an integer ≥ 1');
  if (!(Number.isInteger(cfg.classes) && cfg.classes >= 2)) throw new Error(`noise classifier: classes must be an integer ≥ 2, got ${cfg.classes}`);
  if (cfg.embedding !== 'fourier' && cfg.embedding !== 'sinusoidal') throw new Error(`noise classifier: embedding must be 'fourier' or 'sinusoidal', got '${cfg.embedding}'`);
  if (cfg.pool !== 'mean' && cfg.pool !== 'flatten') throw new Error(`noise classifier: pool must be 'mean' or 'flatten', got '${cfg.pool}'`);
  if (cfg.base % 2) throw new Error(`noise classifier: base must be even, got ${cfg.base}`);
  return cfg;
}

export class NoiseClassifier extends Module {
  readonly tembDim: number;
  /** The U-Net's noise-level embedding (the same layer, parameters and formulas). */
  readonly noiseEmbedding: NoiseLevelEmbedding;
  readonly convIn: Conv2d;
  readonly levels: { blocks: ResBlock[]; down: Downsample | null }[] = [];
  readonly normOut: GroupNorm;
  readonly head: Dense;

  constructor(readonly cfg: NoiseClassifierConfig) {
    super();
    const rng = seeded(cfg.seed * 7919 + 29);
    const nf = cfg.base;
    this.noiseEmbedding = this.child('', new NoiseLevelEmbedding(rng, cfg, 'noise classifier'));
    this.tembDim = this.noiseEmbedding.dim;
    this.convIn = this.child('convIn', new Conv2d(rng, cfg.channels, nf, 3, { stride: cfg.stemStride, padding: 1 }));
    // ResBlock reads only these fields of a U-Net config; no zero-init: a classifier's blocks start live
    const blockCfg = { maxGroups: cfg.maxGroups, zeroInitLast: false } as UNetConfig;
    let ch = nf;
    cfg.mults.forEach((m, i) => {
      const blocks: ResBlock[] = [];
      for (let j = 0; j < cfg.numResBlocks; j++) {
        blocks.push(this.child(`down${i}.res${j}`, new ResBlock(rng, ch, nf * m, this.tembDim, blockCfg)));
        ch = nf * m;
      }
      const down = i < cfg.mults.length - 1 ? this.child(`down${i}.down`, new Downsample(rng, ch, 'conv')) : null;
      this.levels.push({ blocks, down });
    });
    this.normOut = this.child('normOut', new GroupNorm(ch, cfg.maxGroups));
    this.head = this.child('head', new Dense(rng, cfg.pool === 'mean' ? ch : ch * this.finalSize ** 2, cfg.classes));
  }

  /** Height = width of the last level's map. */
  get finalSize(): number {
    return this.cfg.imageSize / (this.cfg.stemStride * 2 ** (this.cfg.mults.length - 1));
  }

  /** Channels after the last level. */
  get width(): number {
    return this.cfg.base * this.cfg.mults[this.cfg.mults.length - 1];
  }

  /** x_t [B, C, H, W], cond [B, 1] (σ or t, as the score network's) → logits [B, classes]. */
  logits(x: Tensor, cond: Tensor): Tensor {
    const { cfg } = this;
    if (x.rank !== 4 || x.shape[1] !== cfg.channels || x.shape[2] !== cfg.imageSize || x.shape[3] !== cfg.imageSize) {
      throw new ShapeError(`noise classifier: input ${fmtShape(x.shape)} is not [B, ${cfg.channels}, ${cfg.imageSize}, ${cfg.imageSize}]`);
    }
    if (cond.shape[0] !== x.shape[0]) throw new ShapeError(`noise classifier: noise level ${fmtShape(cond.shape)} does not match batch ${fmtShape(x.shape)}`);
    const temb = op.silu(this.noiseEmbedding.forward(cond));
    let h = this.convIn.forward(x);
    for (const lvl of this.levels) {
      for (const b of lvl.blocks) h = b.forward(h, temb);
      if (lvl.down) h = lvl.down.forward(h);
    }
    h = this.normOut.forward(h, true);
    const pooled = cfg.pool === 'mean' ? op.mean(h, [2, 3]) : op.reshape(h, [x.shape[0], h.size / x.shape[0]]); // [B, width] or [B, width·S²]
    return this.head.forward(pooled);
  }
}

export function createNoiseClassifier(over: Partial<NoiseClassifierConfig> = {}): NoiseClassifier {
  return new NoiseClassifier(noiseClassifierConfig(over));
}
