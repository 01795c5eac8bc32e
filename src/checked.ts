// The package root's plain functions (outside the `ops` table) with their arguments checked at the
// boundary, as src/ops.ts does for the ops: a wrong kind is a TypeError naming the function and the
// parameter. src/index.ts exports these; library code keeps importing the unchecked originals.
import * as engine from './autograd/engine.js';
import * as sig from './score/sigmas.js';
import * as metrics from './eval/metrics.js';
import * as toy from './data/toy.js';
import * as adapter from './score/adapter.js';
import * as mod from './nn/module.js';
import { checkChoice as checkChoiceRaw } from './train/choice.js';
import { Device } from './gpu/device.js';
import { checked, T, tensors, num, nonNegInt, posInt, bool, string, numbers, options, optional, either, instance, oneOf } from './tensor/args.js';

const fn = instance(Function as unknown as abstract new () => unknown, 'a function');
const GRAD_OPTS = options({ gradOutput: T, createGraph: bool, allowUnused: bool });

export const grad = checked('grad', engine.grad, [['output', T], ['inputs', tensors], ['opts', GRAD_OPTS]]);
export const backward = checked('backward', engine.backward, [['output', T], ['opts', GRAD_OPTS]]);
export const requireGrad = checked('requireGrad', engine.requireGrad, [['t', T], ['on', optional(bool)]]);
export const noGrad = checked('noGrad', engine.noGrad, [['fn', fn]]);
export const enableGrad = checked('enableGrad', engine.enableGrad, [['fn', fn]]);

export const geometricSigmas = checked('geometricSigmas', sig.geometricSigmas, [['sigmaMax', num], ['sigmaMin', num], ['L', posInt]]);
export const annealedStepSize = checked('annealedStepSize', sig.annealedStepSize, [['eps', num], ['sigma', num], ['sigmaL', num]]);

export const sampleToy = checked('sampleToy', toy.sampleToy, [['name', string], ['n', nonNegInt], ['seed', num]]);

const pts = numbers;
export const energyDistance = checked('energyDistance', metrics.energyDistance, [['x', pts], ['y', pts], ['dim', posInt], ['biased', optional(bool)]]);
export const mmdRbf = checked('mmdRbf', metrics.mmdRbf, [['x', pts], ['y', pts], ['dim', posInt], ['bandwidth', optional(num)], ['biased', optional(bool)]]);
export const slicedWasserstein2 = checked('slicedWasserstein2', metrics.slicedWasserstein2, [['x', pts], ['y', pts], ['dim', posInt], ['nProj', optional(posInt)], ['seed', optional(num)]]);
export const evaluateSamples = checked('evaluateSamples', metrics.evaluateSamples, [
  ['samples', pts], ['held', pts], ['held2', either(pts, instance(Array, 'an array of point sets'))], ['dim', posInt],
  ['opts', options({ maxN: posInt, nProj: posInt, seed: num, bandwidth: num })],
]);

export const adapt = checked('adapt', adapter.adapt, [['prediction', oneOf(adapter.PREDICTIONS)], ['marginal', options({ mean: num, std: num }, ['mean', 'std'])]]);
export const checkChoice = checked('checkChoice', checkChoiceRaw, [['what', string], ['value', string], ['valid', instance(Array, 'an array of strings')]]);
export const materialize = checked('materialize', mod.materialize, [['device', instance(Device)], ['model', instance(mod.Module as unknown as abstract new () => unknown, 'a Module')]]);
