// A conv input already in the implicit GEMM's layout: a zero-padded NHWC4 rgba32float texture
// (tex_pack.wgsl 'nhwc4': texel ((b·Hp + py)·Wp + px)·C4 + c4 holds channels 4·c4..4·c4+3 of pixel
// (py − pad, px − pad)). Producers that can write it in passing — a GroupNorm (norm_conv.ts), a ×2
// up-sampling (upsample_conv.ts), the input gradient packing gy (conv2d.ts conv2dBackward) — hand
// it to the conv inside one fused op, as a value of this type; nothing outside such an op sees it.

/** Padded input image of the implicit-GEMM forward: Hp × Wp pixels, the image at (pad, pad). */
export interface PaddedGeometry { Hp: number; Wp: number; pad: number }

/** A texture holding a [B, C, H, W] tensor in the padded NHWC4 layout of `geometry`. */
export interface PackedInput {
  view: GPUTextureView;
  geometry: PaddedGeometry;
}

export const sameGeometry = (a: PaddedGeometry, b: PaddedGeometry) => a.Hp === b.Hp && a.Wp === b.Wp && a.pad === b.pad;
