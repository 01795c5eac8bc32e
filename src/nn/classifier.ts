// A small CNN image classifier, the feature extractor of the Fashion-MNIST quality metric
// (src/eval/fmnist_classifier.ts): a Fréchet distance on its penultimate features means something
// for 28×28 grey images where Inception's does not.
//
//   x [B, 1, 28, 28] in [-1, 1]
//   → conv3×3 stride 2 (1→c₁) → GroupNorm+SiLU                [B, c₁, 14, 14]
//   → conv3×3 (c₁→c₂) → GroupNorm+SiLU → avgpool 2            [B, c₂, 7, 7]
//   → flatten → Dense(c₂·49 → F) → SiLU                        [B, F]   the features
//   → Dense(F → classes)                                       [B, classes]  the logits
// (defaults c₁ = 16, c₂ = 32, F = 128, 8 groups; each stage may instead pool or stride, and the
// norms may be left out). The first stage strides rather than pools: on lavapipe it costs a
// quarter of a full-resolution conv + pool and loses little accuracy; the second pools, since the
// backward of a strided conv's input is the slow path there.
//
// Every layer is an op of src/autograd/ops.ts, so forward and backward run on the GPU.
import { Module } from './module.js';
import { seeded } from './init.js';
import { Conv2d, Dense, GroupNorm } from './unet.js';
import * as op from '../autograd/ops.js';
import { Tensor } from '../tensor/tensor.js';
import { gather } from '../tensor/ops/layout.js';
import { ShapeError, fmtShape } from '../gpu/errors.js';

export type ClassifierDownsample = 'pool' | 'stride';

export interface ClassifierConfig {
  /** Input channels and height = width (each conv stage halves the size: a multiple of 4). */
  channels: number;
  imageSize: number;
  /** Output channels of the two 3×3 conv stages. */
  convChannels: [number, number];
  /** Width of the feature layer (the penultimate, after its activation). */
  features: number;
  classes: number;
  /** How each stage halves the size: 'pool' (2×2 average pooling after the conv) or 'stride' (a stride-2 conv). */
  downsample: [ClassifierDownsample, ClassifierDownsample];
  /** GroupNorm (fused with the SiLU) after each conv, with this many groups; 0: none. */
  normGroups: number;
  seed: number;
}

export const defaultClassifierConfig = (over: Partial<ClassifierConfig> = {}): ClassifierConfig => ({
  channels: 1, imageSize: 28, convChannels: [16, 32], features: 128, classes: 10, downsample: ['stride', 'pool'], normGroups: 8, seed: 0, ...over,
});

export class ConvClassifier extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly fc: Dense;
  readonly head: Dense;
  readonly norm1: GroupNorm | null = null;
  readonly norm2: GroupNorm | null = null;
  readonly flat: number;

  constructor(readonly cfg: ClassifierConfig) {
    super();
    if (cfg.imageSize % 4) throw new Error(`classifier: image size ${cfg.imageSize} is not a multiple of 4 (two 2×2 poolings)`);
    const rng = seeded(cfg.seed);
    const [c1, c2] = cfg.convChannels;
    const [s1, s2] = cfg.downsample.map((m) => (m === 'stride' ? 2 : 1));
    // He-uniform init (bound √(6/fan_in)) for the layers followed by SiLU: the layers' variance
    // scaling is fan_avg, so scale by 2·fan_avg/fan_in; Glorot for the head.
    const he = (fanIn: number, fanOut: number) => (fanIn + fanOut) / fanIn;
    this.conv1 = this.child('conv1', new Conv2d(rng, cfg.channels, c1, 3, { stride: s1, initScale: he(cfg.channels * 9, c1 * 9) }));
    if (cfg.normGroups) this.norm1 = this.child('norm1', new GroupNorm(c1, cfg.normGroups, 1e-5));
    this.conv2 = this.child('conv2', new Conv2d(rng, c1, c2, 3, { stride: s2, initScale: he(c1 * 9, c2 * 9) }));
    if (cfg.normGroups) this.norm2 = this.child('norm2', new GroupNorm(c2, cfg.normGroups, 1e-5));
    this.flat = c2 * (cfg.imageSize / 4) ** 2;
    this.fc = this.child('fc', new Dense(rng, this.flat, cfg.features, he(this.flat, cfg.features)));
    this.head = this.child('head', new Dense(rng, cfg.features, cfg.classes));
  }

  private check(x: Tensor): void {
    const { channels: c, imageSize: s } = this.cfg;
    if (x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== s || x.shape[3] !== s) {
      throw new ShapeError(`classifier: input ${fmtShape(x.shape)} is not [B, ${c}, ${s}, ${s}]`);
    }
  }

  /** Penultimate features [B, F] (after the activation). */
  features(x: Tensor): Tensor {
    this.check(x);
    const down = (h: Tensor, i: number) => (this.cfg.downsample[i] === 'stride' ? h : op.avgPool2d(h, 2));
    const act = (h: Tensor, n: GroupNorm | null) => (n ? n.forward(h, true) : op.silu(h));
    let h = down(act(this.conv1.forward(x), this.norm1), 0);
    h = down(act(this.conv2.forward(h), this.norm2), 1);
    return op.silu(this.fc.forward(op.reshape(h, [x.shape[0], this.flat])));
  }

  /** Logits [B, classes] from features [B, F]. */
  headLogits(features: Tensor): Tensor {
    return this.head.forward(features);
  }

  logits(x: Tensor): Tensor {
    return this.headLogits(this.features(x));
  }

  /** Features and logits of one forward pass. */
  forward(x: Tensor): { features: Tensor; logits: Tensor } {
    const features = this.features(x);
    return { features, logits: this.headLogits(features) };
  }
}

/** Rows of the identity picked by integer labels (f32, [B] or [B, 1]): one-hot [B, classes]. */
export function oneHot(labels: Tensor, classes: number): Tensor {
  const eye = new Float32Array(classes * classes);
  for (let i = 0; i < classes; i++) eye[i * classes + i] = 1;
  return gather(Tensor.constant(labels.device, `eye${classes}`, eye, [classes, classes]), labels, 0);
}

/** Mean cross-entropy −(1/B) Σ_b log softmax(logits_b)[y_b], with y as one-hot rows [B, classes]. */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  if (logits.rank !== 2 || target.rank !== 2 || logits.shape[0] !== target.shape[0] || logits.shape[1] !== target.shape[1]) {
    throw new ShapeError(`crossEntropy: logits ${fmtShape(logits.shape)} and one-hot targets ${fmtShape(target.shape)} differ`);
  }
  return op.scale(op.sum(op.mul(op.logSoftmax(logits, 1), target)), -1 / logits.shape[0]);
}
