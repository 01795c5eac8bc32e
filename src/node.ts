// scoregpu's Node surface: everything in the browser entry, plus what reads and writes files —
// run directories (train, resume, load), checkpoints in PyTorch layout, image data sets, and the
// image-quality metric (its classifier is cached on disk).
export * from './index.js';
export { trainImage, loadImageRun, isImageRun, type ImageRunOptions, type ImageRunResult, type LoadedImageRun } from './train/image.js';
export { trainToy, loadToyRun } from './train/toy_run.js';
export { trainClassifier, loadClassifierRun, classifierConfig, noisedAccuracy, type ClassifierRunConfig, type LoadedClassifier, type LevelAccuracy } from './train/classifier.js';
export { saveCheckpoint, saveWeights, readCheckpoint, loadWeights, restoreTrainer, toTorchLayout, fromTorchLayout, CHECKPOINT_FORMAT } from './train/checkpoint.js';
export { loadImageSet, heldPair, toRange, type ImageSet } from './data/images.js';
export { sampleImages, samplerDefaults, type SampleImagesOptions } from './score/sampling/draw.js';
export * as imageSamplers from './score/sampling/index.js';
export { loadOrTrainClassifier, type TrainedClassifier } from './eval/fmnist_classifier.js';
export { evaluateImageSamples, type ImageEvalReport } from './eval/image_eval.js';
export { writeFileAtomic, writeNpy, readNpy, readSafetensors, writeSafetensors } from './io/fs.js';
export { imageGrid, renderChartPng, renderChartSvg, type TitledGridOptions } from './io/render_node.js';
