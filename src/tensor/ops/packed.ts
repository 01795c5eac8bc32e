// Inputs packed by their producer: a GroupNorm (shaders/norm_pack.wgsl) or an up-sampling
// (up2_pack.wgsl) that feeds an implicit-GEMM conv can write the conv's padded NHWC4 input texture
// itself, so that the conv skips its packing pass; the input gradient packs gy once for the weight
// gradient of the same conv. The texture lives in a scratch slot ('GN', 'GNX', 'GY'); a token per
// write says which tensor's texture the slot holds now.
import type { Tensor } from '../tensor.js';
import { DeviceLocal, type Device } from '../../gpu/device.js';
import { KernelError, fmtShape } from '../../gpu/errors.js';
import { scratchTarget, type TexTarget } from './tex_pack.js';

/** Padded input image of the implicit-GEMM forward: Hp × Wp pixels, the image at (pad, pad). */
export interface PaddedGeometry { Hp: number; Wp: number; pad: number }

const producerPacked = new WeakMap<Tensor, PaddedGeometry & { view: GPUTextureView; slot: string; token: number; only: boolean }>();
/** The token of the latest write to each producer slot of a device. */
const SLOT_TOKENS = new DeviceLocal('producer slot tokens', () => ({ last: 0, bySlot: new Map<string, number>() }));

/**
 * The scratch texture a producer writes `texels` texels of a tensor's packed form into (slot 'GN'
 * for a norm's output, 'GNX' for its input); call markPacked after.
 */
export function producerTexture(d: Device, texels: number, slot: 'GN' | 'GNX' | 'GY' = 'GN', staged?: boolean): { view: GPUTextureView; slot: string; token: number; target: TexTarget } {
  const tokens = d.local(SLOT_TOKENS);
  const token = ++tokens.last;
  tokens.bySlot.set(slot, token);
  const target = scratchTarget(d, slot, texels, staged);
  return { view: target.view, slot, token, target };
}

/**
 * Record that x's padded NHWC4 form (geometry g) is in the producer texture written under `token`;
 * `only`: the producer wrote nothing else (x's buffer holds no values).
 */
export function markPacked(x: Tensor, g: PaddedGeometry, t: { view: GPUTextureView; slot: string; token: number }, only = false): void {
  producerPacked.set(x, { ...g, ...t, only });
}

/** x holds no values of its own: only a producer-packed texture (GroupNorm packOnly). */
export function isPackOnly(x: Tensor): boolean {
  return producerPacked.get(x)?.only ?? false;
}

/** Whether the producer slot still holds what entry e says it does (no later write to it). */
const isCurrent = (d: Device, e: { slot: string; token: number }) => d.local(SLOT_TOKENS).bySlot.get(e.slot) === e.token;

/** x's producer-packed texture if it is still in the slot and has the wanted geometry (null: pack it). */
export function takePacked(d: Device, x: Tensor, g: PaddedGeometry, dil: number): GPUTextureView | null {
  const e = producerPacked.get(x);
  if (!e) return null;
  const current = isCurrent(d, e);
  if (dil !== 1 || e.Hp !== g.Hp || e.Wp !== g.Wp || e.pad !== g.pad || !current) {
    if (e.only) {
      throw new KernelError(
        `conv2d: input ${fmtShape(x.shape)} exists only as a producer-packed texture (GroupNorm packOnly) that ${!current ? 'a later producer has overwritten' : 'has another geometry than this conv reads'}; pack without packOnly`,
      );
    }
    return null;
  }
  return e.view;
}

/** x's producer-packed texture and its geometry, whatever the geometry, if the slot still holds it. */
export function currentPacked(d: Device, x: Tensor): (PaddedGeometry & { view: GPUTextureView }) | null {
  const e = producerPacked.get(x);
  return e && !e.only && isCurrent(d, e) ? e : null;
}
