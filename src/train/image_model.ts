// A trained image model from checkpoint bytes: the config checked before anything is built, the
// U-Net, its process and the weights (EMA by default). Pure — no Node built-ins — so the browser
// pages load shipped, fetched or dropped checkpoints through the same checks and code as the CLI
// (image.ts reads the file and calls loadImageModel).
import type { Device } from '../gpu/device.js';
import type { ParamArena } from '../nn/module.js';
import type { UNet } from '../nn/unet.js';
import type { DiscreteProcess } from '../score/processes/index.js';
import { decodeSafetensors, type StFile } from '../io/safetensors.js';
import { FileError } from '../gpu/errors.js';
import { unetConfig } from '../nn/unet.js';
import { checkpointOf, loadWeights, checkModelFits, configInt, fromFileConfig } from './checkpoint_format.js';
import { buildImageModel, type ImageConfig } from './image_recipes.js';

/** A trained image model loaded for sampling: EMA weights by default. */
export interface LoadedImageRun {
  cfg: ImageConfig;
  net: UNet;
  arena: ParamArena;
  process: DiscreteProcess;
  step: number;
  weights: 'ema' | 'params';
}

/**
 * An image model from a checkpoint (a run's checkpoint.safetensors or a model folder's
 * model.safetensors), given as bytes or as a decoded file; `name` names it in errors.
 */
export function loadImageModel(device: Device, bytes: Uint8Array | StFile, name: string, which: 'ema' | 'params' = 'ema'): LoadedImageRun {
  if (!device || typeof (device as { scope?: unknown }).scope !== 'function') throw new TypeError('loadImageModel: device must be a Device (createDevice())');
  if (!(bytes instanceof Uint8Array) && !(bytes && typeof bytes === 'object' && 'tensors' in bytes)) throw new TypeError('loadImageModel: bytes must be a Uint8Array (the file\'s contents) or a decoded safetensors file');
  if (typeof name !== 'string') throw new TypeError('loadImageModel: name must be a string (the file\'s name, for messages)');
  if (which !== 'ema' && which !== 'params') throw new TypeError(`loadImageModel: which must be 'ema' or 'params', got ${String(which)}`);
  const file = bytes instanceof Uint8Array ? decodeSafetensors(bytes, name) : bytes;
  const ck = imageCheckpointOf(file, name);
  const cfg = ck.config as ImageConfig;
  const { net, arena, process } = fromFileConfig(name, () => buildImageModel(device, cfg));
  const weights = loadWeights(net, arena, ck.file, name, which);
  return { cfg, net, arena, process, step: ck.step, weights };
}

/**
 * An image checkpoint whose config is safe to build from: the sizes that allocate or loop are
 * integers in sane ranges, and the U-Net they describe is about as large as the weights the file
 * holds (a corrupt or foreign config cannot make us allocate more than the file justifies).
 */
export function imageCheckpointOf(file: StFile, path: string): ReturnType<typeof checkpointOf> {
  const ck = checkpointOf(file, path);
  const cfg = ck.config as Partial<ImageConfig>;
  if (cfg.kind !== 'image') throw new FileError(path, 'not an image model (a toy run? use scoregpu sample with its toy options)');
  if (!Array.isArray(cfg.shape) || cfg.shape.length !== 3) throw new FileError(path, 'config field shape must be [C, H, W]');
  const [C, H] = cfg.shape.map((d, i) => configInt(path, `shape[${i}]`, d, 1, i === 0 ? 64 : 4096));
  const p = (cfg.process ?? {}) as unknown as Record<string, unknown>;
  for (const k of ['T', 'N', 'levels']) if (p[k] !== undefined) configInt(path, `process.${k}`, p[k], 1, 1_000_000);
  configInt(path, 'batchSize', cfg.batchSize, 1, 1 << 16);
  if (cfg.classes !== undefined) configInt(path, 'classes', cfg.classes, 1, 4096);
  const u = fromFileConfig(path, () => unetConfig(cfg.preset, { ...(cfg.unet ?? {}), channels: C, imageSize: H }));
  const base = configInt(path, 'unet.base', u.base, 1, 4096);
  const nres = configInt(path, 'unet.numResBlocks', u.numResBlocks, 1, 64);
  if (!Array.isArray(u.mults) || u.mults.length > 8) throw new FileError(path, 'config field unet.mults must list 1 to 8 levels');
  const widths = u.mults.map((m, i) => base * configInt(path, `unet.mults[${i}]`, m, 1, 64));
  // a residual block holds about 9·(2C)·C + 9·C·C + 2C·C weights (two 3×3 convs, a 1×1 skip), an
  // attention block 4·C²; each level has nres blocks down and nres + 1 up, the middle two more
  let estimate = 9 * C * base * 2;
  for (const c of widths) estimate += (2 * nres + 1) * 34 * c * c;
  estimate += 2 * 34 * widths[widths.length - 1] ** 2;
  checkModelFits(path, ck.file, estimate);
  return ck;
}

