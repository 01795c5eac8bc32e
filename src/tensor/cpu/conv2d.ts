// Float64 references for 2-D convolution (NCHW, weights [Cout, Cin, kh, kw]) and its two gradients.
import { actRef } from './matmul.js';

export interface Conv2dRefOpts {
  stride?: number;
  padding?: number;
  bias?: ArrayLike<number>;
  act?: 'none' | 'silu';
}

export function conv2dOutSize(h: number, k: number, stride: number, padding: number): number {
  return Math.floor((h + 2 * padding - k) / stride) + 1;
}

/** y[b, co, oy, ox] = act(Σ_{ci,ky,kx} x[b, ci, oy·s−p+ky, ox·s−p+kx]·w[co, ci, ky, kx] + bias[co]). */
export function conv2dRef(
  x: ArrayLike<number>, xShape: readonly number[],
  w: ArrayLike<number>, wShape: readonly number[],
  opts: Conv2dRefOpts = {},
): { data: Float64Array; shape: number[] } {
  const [B, Cin, H, W] = xShape;
  const [Cout, , KH, KW] = wShape;
  const s = opts.stride ?? 1, p = opts.padding ?? 0;
  const Ho = conv2dOutSize(H, KH, s, p), Wo = conv2dOutSize(W, KW, s, p);
  const y = new Float64Array(B * Cout * Ho * Wo);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          let acc = opts.bias ? opts.bias[co] : 0;
          for (let ci = 0; ci < Cin; ci++)
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= W) continue;
                acc += x[((b * Cin + ci) * H + iy) * W + ix] * w[((co * Cin + ci) * KH + ky) * KW + kx];
              }
            }
          y[((b * Cout + co) * Ho + oy) * Wo + ox] = actRef(opts.act ?? 'none', acc);
        }
  return { data: y, shape: [B, Cout, Ho, Wo] };
}

/** Gradient of conv2d (no bias/act) with respect to x: the adjoint of the forward map. */
export function conv2dBackwardInputRef(
  gy: ArrayLike<number>, gyShape: readonly number[],
  w: ArrayLike<number>, wShape: readonly number[],
  xShape: readonly number[], opts: { stride?: number; padding?: number } = {},
): Float64Array {
  const [B, Cout, Ho, Wo] = gyShape;
  const [, Cin, KH, KW] = wShape;
  const [, , H, W] = xShape;
  const s = opts.stride ?? 1, p = opts.padding ?? 0;
  const gx = new Float64Array(B * Cin * H * W);
  for (let b = 0; b < B; b++)
    for (let co = 0; co < Cout; co++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const g = gy[((b * Cout + co) * Ho + oy) * Wo + ox];
          for (let ci = 0; ci < Cin; ci++)
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= W) continue;
                gx[((b * Cin + ci) * H + iy) * W + ix] += g * w[((co * Cin + ci) * KH + ky) * KW + kx];
              }
            }
        }
  return gx;
}

/** Gradient of conv2d with respect to w: gw[co, ci, ky, kx] = Σ gy[b, co, oy, ox]·x[b, ci, oy·s−p+ky, ox·s−p+kx]. */
export function conv2dBackwardWeightRef(
  x: ArrayLike<number>, xShape: readonly number[],
  gy: ArrayLike<number>, gyShape: readonly number[],
  wShape: readonly number[], opts: { stride?: number; padding?: number } = {},
): Float64Array {
  const [B, Cin, H, W] = xShape;
  const [, Cout, Ho, Wo] = gyShape;
  const [, , KH, KW] = wShape;
  const s = opts.stride ?? 1, p = opts.padding ?? 0;
  const gw = new Float64Array(Cout * Cin * KH * KW);
  for (let co = 0; co < Cout; co++)
    for (let ci = 0; ci < Cin; ci++)
      for (let ky = 0; ky < KH; ky++)
        for (let kx = 0; kx < KW; kx++) {
          let acc = 0;
          for (let b = 0; b < B; b++)
            for (let oy = 0; oy < Ho; oy++) {
              const iy = oy * s - p + ky;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < Wo; ox++) {
                const ix = ox * s - p + kx;
                if (ix < 0 || ix >= W) continue;
                acc += gy[((b * Cout + co) * Ho + oy) * Wo + ox] * x[((b * Cin + ci) * H + iy) * W + ix];
              }
            }
          gw[((co * Cin + ci) * KH + ky) * KW + kx] = acc;
        }
  return gw;
}
