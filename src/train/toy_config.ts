// The config a toy run is made from (stored in its checkpoint), apart from the code that builds it
// (toy_recipes.ts) and the code that fits it to the data (toy_fit.ts), so both can name it.
// Types only: no device, no Node built-ins.
import type { Activation } from '../nn/mlp.js';
import type { LossName } from '../score/losses.js';
import type { Bounds, SamplerName, StartMixture } from '../score/samplers.js';
import type { AdamConfig } from './optimizer.js';

/** Data units → model units: u = (x − center)/scale. */
export interface ToyNorm {
  center: number[];
  scale: number;
}

export interface ToyConfig {
  data: string;
  dim: number;
  model: 'mlp' | 'energy';
  loss: LossName;
  hidden: number[];
  act: Activation;
  steps: number;
  batchSize: number;
  seed: number;
  optim: AdamConfig;
  emaDecay: number;
  /** DSM / DEEN noise level. */
  sigma: number;
  /** DSM / DEEN: each row with noise z and −z (losses.ts dsmLoss); absent: off. */
  antithetic?: boolean;
  /** ESM / SSM / SSM-VR: smooth the data by N(0, dataNoise²) first (0: train on the data as given). */
  dataNoise: number;
  /** NCSN geometric levels. */
  sigmaMax: number;
  sigmaMin: number;
  levels: number;
  /** Sampler defaults. */
  sampler: SamplerName;
  sampleSteps: number;
  stepSize: number;
  /** Plain Langevin: α decays geometrically from stepSize to this over the chain. */
  stepSizeEnd: number;
  /**
   * Initial points: uniform on [−initScale, initScale]^D, N(0, initScale²I), or `mixture`: the
   * Gaussian mixture `startMixture` (single-σ objectives on data in separated groups, toy_start.ts).
   */
  init?: 'uniform' | 'normal' | 'mixture';
  initScale: number;
  /** The cores of the data's separated groups as a start mixture (model units; weights counted from the training rows; toy_start.ts coreStart). */
  startMixture?: StartMixture;
  /**
   * Plain Langevin keeps its chains inside this box (model units): the training rows' range per
   * dimension, widened by BOUNDS_MARGIN of it each side (single-σ runs on data in separated groups).
   */
  bounds?: Bounds;
  /**
   * The network sees u = (x − center)/scale; the σs, step sizes and initScale above are in those
   * units (toy_fit.ts chose them from the data). Absent: the data as given (runs made by
   * toyConfig alone, and runs written before item 4).
   */
  norm?: ToyNorm;
  /** What the fit measured (data units), kept in the config for the record. */
  fit?: { scale: number; maxDist: number; nnDist: number; groups?: number; gap?: number };
}
