// scoregpu's public surface.
export { createDevice, Device, Recording, type DeviceOptions } from './gpu/device.js';
export * from './gpu/errors.js';
export { Tensor } from './tensor/tensor.js';
export * as ops from './ops.js';
export { grad, backward, noGrad, enableGrad, requireGrad } from './autograd/engine.js';
export { Module, Param, ParamArena, materialize } from './nn/module.js';
export { Linear, FourierEmbedding, SinusoidalEmbedding } from './nn/layers.js';
export { ScoreMLP, EnergyMLP, defaultMlpConfig, type MlpConfig } from './nn/mlp.js';
export { UNet, createUNet, unetConfig, UNET_PRESETS, type UNetConfig, type UNetPreset } from './nn/unet.js';
export * as losses from './score/losses.js';
export * as samplers from './score/samplers.js';
export { geometricSigmas, annealedStepSize } from './score/sigmas.js';
export { Trainer, TrainingDiverged, type TrainerConfig } from './train/trainer.js';
export { AdamW, defaultAdam, type AdamConfig } from './train/optimizer.js';
export { Ema } from './train/ema.js';
export * as recipes from './train/recipes.js';
export { sampleToy, TOY_SETS } from './data/toy.js';
export { evaluateSamples, energyDistance, mmdRbf, slicedWasserstein2 } from './eval/metrics.js';
