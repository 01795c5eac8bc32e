// scoregpu's public surface.
export { createDevice, Device, Recording, type DeviceOptions } from './gpu/device.js';
export * from './gpu/errors.js';
export { Tensor } from './tensor/tensor.js';
export * as ops from './ops.js';
export { Module, Param, ParamArena } from './nn/module.js';
// plain functions with their arguments checked (src/checked.ts; the ops table checks its own)
export { grad, backward, noGrad, enableGrad, requireGrad, materialize, geometricSigmas, annealedStepSize, adapt, checkChoice, sampleToy } from './checked.js';
export { evaluateSamples, energyDistance, mmdRbf, slicedWasserstein2 } from './checked.js';
export { Linear, FourierEmbedding, SinusoidalEmbedding } from './nn/layers.js';
export { ScoreMLP, EnergyMLP, defaultMlpConfig, type MlpConfig } from './nn/mlp.js';
export { UNet, createUNet, unetConfig, UNET_PRESETS, type UNetConfig, type UNetPreset } from './nn/unet.js';
export * as losses from './score/losses.js';
export * as samplers from './score/samplers.js';
export { Trainer, TrainingDiverged, rows, type TrainerConfig, type TrainingSet, type LossFn } from './train/trainer.js';
export * as processes from './score/processes/index.js';
export { type Adapted } from './score/adapter.js';
export { AdamW, defaultAdam, type AdamConfig } from './train/optimizer.js';
export { Ema } from './train/ema.js';
export * as recipes from './train/toy_recipes.js';
export { type ToyConfig, type ToyNorm } from './train/toy_config.js';
export * as imageRecipes from './train/image_recipes.js';
export { TOY_SETS } from './data/toy.js';
export * as charts from './io/charts.js';
// image models and their samplers, as the CLI uses them (the browser's image page too)
export * as imageSamplers from './score/sampling/index.js';
export { sampleImages, samplerDefaults, type SampleImagesOptions } from './score/sampling/draw.js';
// inpainting: score_sde's projection after every step, RePaint's resampling, masks (src/score/inpaint/)
export * as inpainting from './score/inpaint/index.js';
export { inpaint, type InpaintOptions, type InpaintResult } from './score/inpaint/index.js';
export { decodePngGrey } from './io/png_decode.js';
// classifier guidance: a noise-conditional classifier and the network guided by it (src/score/guidance/classifier.ts)
export { classifierGuided, classifierLogProbGrad, type NoiseConditionalClassifier, type ClassifierGuidanceOptions } from './score/guidance/classifier.js';
// classifier-free guidance: a class-conditional U-Net (imageConfig({ classes })) guided by ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅) (src/score/guidance/cfg.ts)
export { ClassifierFreeGuidance, dropLabels, type LabelledNet } from './score/guidance/cfg.js';
export { classIndex, FASHION_MNIST_CLASSES } from './data/idx.js';
export { NoiseClassifier, createNoiseClassifier, noiseClassifierConfig, type NoiseClassifierConfig } from './nn/noise_classifier.js';
export { loadImageModel, imageCheckpointOf, type LoadedImageRun } from './train/image_model.js';
export { type ImageConfig } from './train/image_recipes.js';
export { decodeSafetensors, encodeSafetensors, type StFile } from './io/safetensors.js';
