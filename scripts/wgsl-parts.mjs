// WGSL pieces shared by the shader generators (gen-conv2d-tex.mjs, gen-conv2d-blk.mjs,
// gen-matmul-tex.mjs): WGSL has no includes, so the generators splice these into their output.

/** Texel t of the linear texture layout: (t mod 2^LOG_TW, t / 2^LOG_TW). */
export const COORD_FN = `fn coord(t: u32) -> vec2<u32> {
  return vec2<u32>(t & ((1u << LOG_TW) - 1u), t >> LOG_TW);
}`;

/** c + A-texel a times the 4 B texels b0..b3 (one K step of 4 for 4 output columns). */
export const STEP4_FN = `fn step4(c: vec4<f32>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return c + a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
}`;

/** The bindings of the implicit-GEMM convs (conv2d_tex.wgsl, conv2d_blk.wgsl): the packed input and weight textures, what convChannelLoop reads and writes, and `p`. */
export const CONV_BINDINGS = `@group(0) @binding(0) var ta: texture_2d<f32>;
@group(0) @binding(1) var tb: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> cbias: array<f32>;
@group(0) @binding(4) var<storage, read> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;`;

/**
 * The conv epilogue over the 4 output channels 4·c4..4·c4+3 of v for pixel `pix` of image `img`
 * (NCHW, `hw` pixels a plane): y = act(v + bias[n] + cbias[img, n]) + res. `on` gives the WGSL
 * condition of each term (override constants or uniform flag bits).
 */
export function convChannelLoop(on, hw) {
  return `  for (var e = 0u; e < 4u; e++) {
    let n = 4u * c4 + e;
    if (n < N) {
      var x = v[e];
      if (${on.bias}) { x += bias[n]; }
      if (${on.cbias}) { x += cbias[img * N + n]; }
      if (${on.silu}) { x = x / (1.0 + exp(-x)); }
      let o = (img * N + n) * ${hw} + pix;
      if (${on.res}) { x += res[o]; }
      out[o] = x;
    }
  }`;
}
