enable subgroups;

// Texture GEMM for CPU adapters (lavapipe; DESIGN.md "Why storage buffers are slow on lavapipe").
// A and B are first packed into rgba32float textures (shaders/tex_pack.wgsl: transposes, im2col
// and zero padding happen there); `main` then reads them with textureLoad, which lavapipe runs without the
// per-lane loop that storage-buffer loads take.
//
// Texture layout: a 2-D texture of width 2^LOG_TW used as a linear array of vec4 texels
// (texel t at (t & (TW−1), t >> LOG_TW)). A matrix X [R, C] is stored as Rp rows of C4p texels,
// texel (r, c4) = X[r, 4c4..4c4+3]; rows past R and columns past C are zero. For the GEMM
// C = op(A)·op(B): A is packed as [Mp, K4] (K4 texels per row, Mp = M rounded up to TM) and B as
// [4·K4, N4p] (N4p texels per row, 4·N4p = N rounded up to 8·TN), so `main` needs no bounds checks
// except when storing.
//
// `main`: a workgroup is 8 invocations = one subgroup. It computes TM rows × 8·TN columns of C;
// lane l holds all TM rows × its TN columns in registers. Per step of 4 along K, lane l fetches
// A texels of rows l, l+8, ... and every lane receives all TM of them by subgroupShuffle with a
// constant lane (a register permute); each lane fetches its own 4 × TN/4 B texels.

override TM: u32 = 16;          // rows of C per workgroup (8, 16, 24 or 32)
override TN: u32 = 4;           // columns of C per lane (4 or 8)
override LOG_TW: u32 = 12;      // texture width 2^LOG_TW texels
override HAS_BIAS: bool = false;
override ACT: u32 = 0;          // 0 none, 1 silu, 2 relu
override OUT_MODE: u32 = 0;     // 0: out [batch, M, N] row-major. 1: conv NCHW, row m = (image, pixel), column = channel

struct Params {
  M: u32,
  N: u32,
  K4: u32,     // texels per A row (= ceil(K / 4))
  N4p: u32,    // texels per B row
  ta: u32,     // texels per A batch in the texture (0: A broadcasts)
  tb: u32,     // texels per B batch in the texture (0: B broadcasts)
  so: u32,     // elements per output batch
  hw: u32,     // OUT_MODE 1: pixels per image
}

@group(0) @binding(0) var ta: texture_2d<f32>;
@group(0) @binding(1) var tb: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn coord(t: u32) -> vec2<u32> {
  return vec2<u32>(t & ((1u << LOG_TW) - 1u), t >> LOG_TW);
}

fn activate(x: f32) -> f32 {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return max(x, 0.0); }
    default: { return x; }
  }
}


fn step4(c: vec4<f32>, a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return c + a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
}

// Epilogue for one row m of C: columns 4·c4..4·c4+3 from v (bias, activation, bounds, layout).
fn store_row(z: u32, m: u32, c4: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  let N = p.N;
  for (var e = 0u; e < 4u; e++) {
    let n = 4u * c4 + e;
    if (n < N) {
      var x = v[e];
      if (HAS_BIAS) { x += bias[n]; }
      x = activate(x);
      if (OUT_MODE == 1u) {
        let img = m / p.hw;
        out[(img * N + n) * p.hw + (m - img * p.hw)] = x;
      } else {
        out[z * p.so + m * N + n] = x;
      }
    }
  }
}

// Explicit code for strips of TM rows × TN columns per lane (entry main{TM}x{TN}): separate
// accumulator variables and literal shuffle lanes, so nothing depends on the compiler unrolling
// loops or promoting arrays to registers. The blocks are regular (generated once, then edited by hand).
@compute @workgroup_size(8)
fn main16x4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 16u;
  let col4 = (wg.x * 8u + lane) * 1u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let v1 = textureLoad(ta, coord(abase + 8u * K4 + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    let a8 = subgroupBroadcast(v1, 0u);
    c8_0 = step4(c8_0, a8, b0_0, b1_0, b2_0, b3_0);
    let a9 = subgroupBroadcast(v1, 1u);
    c9_0 = step4(c9_0, a9, b0_0, b1_0, b2_0, b3_0);
    let a10 = subgroupBroadcast(v1, 2u);
    c10_0 = step4(c10_0, a10, b0_0, b1_0, b2_0, b3_0);
    let a11 = subgroupBroadcast(v1, 3u);
    c11_0 = step4(c11_0, a11, b0_0, b1_0, b2_0, b3_0);
    let a12 = subgroupBroadcast(v1, 4u);
    c12_0 = step4(c12_0, a12, b0_0, b1_0, b2_0, b3_0);
    let a13 = subgroupBroadcast(v1, 5u);
    c13_0 = step4(c13_0, a13, b0_0, b1_0, b2_0, b3_0);
    let a14 = subgroupBroadcast(v1, 6u);
    c14_0 = step4(c14_0, a14, b0_0, b1_0, b2_0, b3_0);
    let a15 = subgroupBroadcast(v1, 7u);
    c15_0 = step4(c15_0, a15, b0_0, b1_0, b2_0, b3_0);
  }
  var res: array<vec4<f32>, 16>;
  res[0] = c0_0;
  res[1] = c1_0;
  res[2] = c2_0;
  res[3] = c3_0;
  res[4] = c4_0;
  res[5] = c5_0;
  res[6] = c6_0;
  res[7] = c7_0;
  res[8] = c8_0;
  res[9] = c9_0;
  res[10] = c10_0;
  res[11] = c11_0;
  res[12] = c12_0;
  res[13] = c13_0;
  res[14] = c14_0;
  res[15] = c15_0;
  let rows = min(16u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 1u; i++) {
    store_row(wg.z, m0 + i / 1u, col4 + i % 1u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main32x4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 32u;
  let col4 = (wg.x * 8u + lane) * 1u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0);
  var c16_0 = vec4<f32>(0.0);
  var c17_0 = vec4<f32>(0.0);
  var c18_0 = vec4<f32>(0.0);
  var c19_0 = vec4<f32>(0.0);
  var c20_0 = vec4<f32>(0.0);
  var c21_0 = vec4<f32>(0.0);
  var c22_0 = vec4<f32>(0.0);
  var c23_0 = vec4<f32>(0.0);
  var c24_0 = vec4<f32>(0.0);
  var c25_0 = vec4<f32>(0.0);
  var c26_0 = vec4<f32>(0.0);
  var c27_0 = vec4<f32>(0.0);
  var c28_0 = vec4<f32>(0.0);
  var c29_0 = vec4<f32>(0.0);
  var c30_0 = vec4<f32>(0.0);
  var c31_0 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let v1 = textureLoad(ta, coord(abase + 8u * K4 + k4), 0);
    let v2 = textureLoad(ta, coord(abase + 16u * K4 + k4), 0);
    let v3 = textureLoad(ta, coord(abase + 24u * K4 + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    let a8 = subgroupBroadcast(v1, 0u);
    c8_0 = step4(c8_0, a8, b0_0, b1_0, b2_0, b3_0);
    let a9 = subgroupBroadcast(v1, 1u);
    c9_0 = step4(c9_0, a9, b0_0, b1_0, b2_0, b3_0);
    let a10 = subgroupBroadcast(v1, 2u);
    c10_0 = step4(c10_0, a10, b0_0, b1_0, b2_0, b3_0);
    let a11 = subgroupBroadcast(v1, 3u);
    c11_0 = step4(c11_0, a11, b0_0, b1_0, b2_0, b3_0);
    let a12 = subgroupBroadcast(v1, 4u);
    c12_0 = step4(c12_0, a12, b0_0, b1_0, b2_0, b3_0);
    let a13 = subgroupBroadcast(v1, 5u);
    c13_0 = step4(c13_0, a13, b0_0, b1_0, b2_0, b3_0);
    let a14 = subgroupBroadcast(v1, 6u);
    c14_0 = step4(c14_0, a14, b0_0, b1_0, b2_0, b3_0);
    let a15 = subgroupBroadcast(v1, 7u);
    c15_0 = step4(c15_0, a15, b0_0, b1_0, b2_0, b3_0);
    let a16 = subgroupBroadcast(v2, 0u);
    c16_0 = step4(c16_0, a16, b0_0, b1_0, b2_0, b3_0);
    let a17 = subgroupBroadcast(v2, 1u);
    c17_0 = step4(c17_0, a17, b0_0, b1_0, b2_0, b3_0);
    let a18 = subgroupBroadcast(v2, 2u);
    c18_0 = step4(c18_0, a18, b0_0, b1_0, b2_0, b3_0);
    let a19 = subgroupBroadcast(v2, 3u);
    c19_0 = step4(c19_0, a19, b0_0, b1_0, b2_0, b3_0);
    let a20 = subgroupBroadcast(v2, 4u);
    c20_0 = step4(c20_0, a20, b0_0, b1_0, b2_0, b3_0);
    let a21 = subgroupBroadcast(v2, 5u);
    c21_0 = step4(c21_0, a21, b0_0, b1_0, b2_0, b3_0);
    let a22 = subgroupBroadcast(v2, 6u);
    c22_0 = step4(c22_0, a22, b0_0, b1_0, b2_0, b3_0);
    let a23 = subgroupBroadcast(v2, 7u);
    c23_0 = step4(c23_0, a23, b0_0, b1_0, b2_0, b3_0);
    let a24 = subgroupBroadcast(v3, 0u);
    c24_0 = step4(c24_0, a24, b0_0, b1_0, b2_0, b3_0);
    let a25 = subgroupBroadcast(v3, 1u);
    c25_0 = step4(c25_0, a25, b0_0, b1_0, b2_0, b3_0);
    let a26 = subgroupBroadcast(v3, 2u);
    c26_0 = step4(c26_0, a26, b0_0, b1_0, b2_0, b3_0);
    let a27 = subgroupBroadcast(v3, 3u);
    c27_0 = step4(c27_0, a27, b0_0, b1_0, b2_0, b3_0);
    let a28 = subgroupBroadcast(v3, 4u);
    c28_0 = step4(c28_0, a28, b0_0, b1_0, b2_0, b3_0);
    let a29 = subgroupBroadcast(v3, 5u);
    c29_0 = step4(c29_0, a29, b0_0, b1_0, b2_0, b3_0);
    let a30 = subgroupBroadcast(v3, 6u);
    c30_0 = step4(c30_0, a30, b0_0, b1_0, b2_0, b3_0);
    let a31 = subgroupBroadcast(v3, 7u);
    c31_0 = step4(c31_0, a31, b0_0, b1_0, b2_0, b3_0);
  }
  var res: array<vec4<f32>, 32>;
  res[0] = c0_0;
  res[1] = c1_0;
  res[2] = c2_0;
  res[3] = c3_0;
  res[4] = c4_0;
  res[5] = c5_0;
  res[6] = c6_0;
  res[7] = c7_0;
  res[8] = c8_0;
  res[9] = c9_0;
  res[10] = c10_0;
  res[11] = c11_0;
  res[12] = c12_0;
  res[13] = c13_0;
  res[14] = c14_0;
  res[15] = c15_0;
  res[16] = c16_0;
  res[17] = c17_0;
  res[18] = c18_0;
  res[19] = c19_0;
  res[20] = c20_0;
  res[21] = c21_0;
  res[22] = c22_0;
  res[23] = c23_0;
  res[24] = c24_0;
  res[25] = c25_0;
  res[26] = c26_0;
  res[27] = c27_0;
  res[28] = c28_0;
  res[29] = c29_0;
  res[30] = c30_0;
  res[31] = c31_0;
  let rows = min(32u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 1u; i++) {
    store_row(wg.z, m0 + i / 1u, col4 + i % 1u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main16x8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 16u;
  let col4 = (wg.x * 8u + lane) * 2u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0); var c8_1 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0); var c9_1 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0); var c10_1 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0); var c11_1 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0); var c12_1 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0); var c13_1 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0); var c14_1 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0); var c15_1 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let b0_1 = textureLoad(tb, coord(kb + 1u), 0);
    let b1_1 = textureLoad(tb, coord(kb + 1u * N4p + 1u), 0);
    let b2_1 = textureLoad(tb, coord(kb + 2u * N4p + 1u), 0);
    let b3_1 = textureLoad(tb, coord(kb + 3u * N4p + 1u), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let v1 = textureLoad(ta, coord(abase + 8u * K4 + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    c0_1 = step4(c0_1, a0, b0_1, b1_1, b2_1, b3_1);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    c1_1 = step4(c1_1, a1, b0_1, b1_1, b2_1, b3_1);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    c2_1 = step4(c2_1, a2, b0_1, b1_1, b2_1, b3_1);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    c3_1 = step4(c3_1, a3, b0_1, b1_1, b2_1, b3_1);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    c4_1 = step4(c4_1, a4, b0_1, b1_1, b2_1, b3_1);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    c5_1 = step4(c5_1, a5, b0_1, b1_1, b2_1, b3_1);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    c6_1 = step4(c6_1, a6, b0_1, b1_1, b2_1, b3_1);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    c7_1 = step4(c7_1, a7, b0_1, b1_1, b2_1, b3_1);
    let a8 = subgroupBroadcast(v1, 0u);
    c8_0 = step4(c8_0, a8, b0_0, b1_0, b2_0, b3_0);
    c8_1 = step4(c8_1, a8, b0_1, b1_1, b2_1, b3_1);
    let a9 = subgroupBroadcast(v1, 1u);
    c9_0 = step4(c9_0, a9, b0_0, b1_0, b2_0, b3_0);
    c9_1 = step4(c9_1, a9, b0_1, b1_1, b2_1, b3_1);
    let a10 = subgroupBroadcast(v1, 2u);
    c10_0 = step4(c10_0, a10, b0_0, b1_0, b2_0, b3_0);
    c10_1 = step4(c10_1, a10, b0_1, b1_1, b2_1, b3_1);
    let a11 = subgroupBroadcast(v1, 3u);
    c11_0 = step4(c11_0, a11, b0_0, b1_0, b2_0, b3_0);
    c11_1 = step4(c11_1, a11, b0_1, b1_1, b2_1, b3_1);
    let a12 = subgroupBroadcast(v1, 4u);
    c12_0 = step4(c12_0, a12, b0_0, b1_0, b2_0, b3_0);
    c12_1 = step4(c12_1, a12, b0_1, b1_1, b2_1, b3_1);
    let a13 = subgroupBroadcast(v1, 5u);
    c13_0 = step4(c13_0, a13, b0_0, b1_0, b2_0, b3_0);
    c13_1 = step4(c13_1, a13, b0_1, b1_1, b2_1, b3_1);
    let a14 = subgroupBroadcast(v1, 6u);
    c14_0 = step4(c14_0, a14, b0_0, b1_0, b2_0, b3_0);
    c14_1 = step4(c14_1, a14, b0_1, b1_1, b2_1, b3_1);
    let a15 = subgroupBroadcast(v1, 7u);
    c15_0 = step4(c15_0, a15, b0_0, b1_0, b2_0, b3_0);
    c15_1 = step4(c15_1, a15, b0_1, b1_1, b2_1, b3_1);
  }
  var res: array<vec4<f32>, 32>;
  res[0] = c0_0; res[1] = c0_1;
  res[2] = c1_0; res[3] = c1_1;
  res[4] = c2_0; res[5] = c2_1;
  res[6] = c3_0; res[7] = c3_1;
  res[8] = c4_0; res[9] = c4_1;
  res[10] = c5_0; res[11] = c5_1;
  res[12] = c6_0; res[13] = c6_1;
  res[14] = c7_0; res[15] = c7_1;
  res[16] = c8_0; res[17] = c8_1;
  res[18] = c9_0; res[19] = c9_1;
  res[20] = c10_0; res[21] = c10_1;
  res[22] = c11_0; res[23] = c11_1;
  res[24] = c12_0; res[25] = c12_1;
  res[26] = c13_0; res[27] = c13_1;
  res[28] = c14_0; res[29] = c14_1;
  res[30] = c15_0; res[31] = c15_1;
  let rows = min(16u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 2u; i++) {
    store_row(wg.z, m0 + i / 2u, col4 + i % 2u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main8x8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 8u;
  let col4 = (wg.x * 8u + lane) * 2u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let b0_1 = textureLoad(tb, coord(kb + 1u), 0);
    let b1_1 = textureLoad(tb, coord(kb + 1u * N4p + 1u), 0);
    let b2_1 = textureLoad(tb, coord(kb + 2u * N4p + 1u), 0);
    let b3_1 = textureLoad(tb, coord(kb + 3u * N4p + 1u), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    c0_1 = step4(c0_1, a0, b0_1, b1_1, b2_1, b3_1);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    c1_1 = step4(c1_1, a1, b0_1, b1_1, b2_1, b3_1);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    c2_1 = step4(c2_1, a2, b0_1, b1_1, b2_1, b3_1);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    c3_1 = step4(c3_1, a3, b0_1, b1_1, b2_1, b3_1);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    c4_1 = step4(c4_1, a4, b0_1, b1_1, b2_1, b3_1);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    c5_1 = step4(c5_1, a5, b0_1, b1_1, b2_1, b3_1);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    c6_1 = step4(c6_1, a6, b0_1, b1_1, b2_1, b3_1);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    c7_1 = step4(c7_1, a7, b0_1, b1_1, b2_1, b3_1);
  }
  var res: array<vec4<f32>, 16>;
  res[0] = c0_0; res[1] = c0_1;
  res[2] = c1_0; res[3] = c1_1;
  res[4] = c2_0; res[5] = c2_1;
  res[6] = c3_0; res[7] = c3_1;
  res[8] = c4_0; res[9] = c4_1;
  res[10] = c5_0; res[11] = c5_1;
  res[12] = c6_0; res[13] = c6_1;
  res[14] = c7_0; res[15] = c7_1;
  let rows = min(8u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 2u; i++) {
    store_row(wg.z, m0 + i / 2u, col4 + i % 2u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main32x8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 32u;
  let col4 = (wg.x * 8u + lane) * 2u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0); var c8_1 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0); var c9_1 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0); var c10_1 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0); var c11_1 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0); var c12_1 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0); var c13_1 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0); var c14_1 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0); var c15_1 = vec4<f32>(0.0);
  var c16_0 = vec4<f32>(0.0); var c16_1 = vec4<f32>(0.0);
  var c17_0 = vec4<f32>(0.0); var c17_1 = vec4<f32>(0.0);
  var c18_0 = vec4<f32>(0.0); var c18_1 = vec4<f32>(0.0);
  var c19_0 = vec4<f32>(0.0); var c19_1 = vec4<f32>(0.0);
  var c20_0 = vec4<f32>(0.0); var c20_1 = vec4<f32>(0.0);
  var c21_0 = vec4<f32>(0.0); var c21_1 = vec4<f32>(0.0);
  var c22_0 = vec4<f32>(0.0); var c22_1 = vec4<f32>(0.0);
  var c23_0 = vec4<f32>(0.0); var c23_1 = vec4<f32>(0.0);
  var c24_0 = vec4<f32>(0.0); var c24_1 = vec4<f32>(0.0);
  var c25_0 = vec4<f32>(0.0); var c25_1 = vec4<f32>(0.0);
  var c26_0 = vec4<f32>(0.0); var c26_1 = vec4<f32>(0.0);
  var c27_0 = vec4<f32>(0.0); var c27_1 = vec4<f32>(0.0);
  var c28_0 = vec4<f32>(0.0); var c28_1 = vec4<f32>(0.0);
  var c29_0 = vec4<f32>(0.0); var c29_1 = vec4<f32>(0.0);
  var c30_0 = vec4<f32>(0.0); var c30_1 = vec4<f32>(0.0);
  var c31_0 = vec4<f32>(0.0); var c31_1 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let b0_1 = textureLoad(tb, coord(kb + 1u), 0);
    let b1_1 = textureLoad(tb, coord(kb + 1u * N4p + 1u), 0);
    let b2_1 = textureLoad(tb, coord(kb + 2u * N4p + 1u), 0);
    let b3_1 = textureLoad(tb, coord(kb + 3u * N4p + 1u), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let v1 = textureLoad(ta, coord(abase + 8u * K4 + k4), 0);
    let v2 = textureLoad(ta, coord(abase + 16u * K4 + k4), 0);
    let v3 = textureLoad(ta, coord(abase + 24u * K4 + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    c0_1 = step4(c0_1, a0, b0_1, b1_1, b2_1, b3_1);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    c1_1 = step4(c1_1, a1, b0_1, b1_1, b2_1, b3_1);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    c2_1 = step4(c2_1, a2, b0_1, b1_1, b2_1, b3_1);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    c3_1 = step4(c3_1, a3, b0_1, b1_1, b2_1, b3_1);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    c4_1 = step4(c4_1, a4, b0_1, b1_1, b2_1, b3_1);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    c5_1 = step4(c5_1, a5, b0_1, b1_1, b2_1, b3_1);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    c6_1 = step4(c6_1, a6, b0_1, b1_1, b2_1, b3_1);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    c7_1 = step4(c7_1, a7, b0_1, b1_1, b2_1, b3_1);
    let a8 = subgroupBroadcast(v1, 0u);
    c8_0 = step4(c8_0, a8, b0_0, b1_0, b2_0, b3_0);
    c8_1 = step4(c8_1, a8, b0_1, b1_1, b2_1, b3_1);
    let a9 = subgroupBroadcast(v1, 1u);
    c9_0 = step4(c9_0, a9, b0_0, b1_0, b2_0, b3_0);
    c9_1 = step4(c9_1, a9, b0_1, b1_1, b2_1, b3_1);
    let a10 = subgroupBroadcast(v1, 2u);
    c10_0 = step4(c10_0, a10, b0_0, b1_0, b2_0, b3_0);
    c10_1 = step4(c10_1, a10, b0_1, b1_1, b2_1, b3_1);
    let a11 = subgroupBroadcast(v1, 3u);
    c11_0 = step4(c11_0, a11, b0_0, b1_0, b2_0, b3_0);
    c11_1 = step4(c11_1, a11, b0_1, b1_1, b2_1, b3_1);
    let a12 = subgroupBroadcast(v1, 4u);
    c12_0 = step4(c12_0, a12, b0_0, b1_0, b2_0, b3_0);
    c12_1 = step4(c12_1, a12, b0_1, b1_1, b2_1, b3_1);
    let a13 = subgroupBroadcast(v1, 5u);
    c13_0 = step4(c13_0, a13, b0_0, b1_0, b2_0, b3_0);
    c13_1 = step4(c13_1, a13, b0_1, b1_1, b2_1, b3_1);
    let a14 = subgroupBroadcast(v1, 6u);
    c14_0 = step4(c14_0, a14, b0_0, b1_0, b2_0, b3_0);
    c14_1 = step4(c14_1, a14, b0_1, b1_1, b2_1, b3_1);
    let a15 = subgroupBroadcast(v1, 7u);
    c15_0 = step4(c15_0, a15, b0_0, b1_0, b2_0, b3_0);
    c15_1 = step4(c15_1, a15, b0_1, b1_1, b2_1, b3_1);
    let a16 = subgroupBroadcast(v2, 0u);
    c16_0 = step4(c16_0, a16, b0_0, b1_0, b2_0, b3_0);
    c16_1 = step4(c16_1, a16, b0_1, b1_1, b2_1, b3_1);
    let a17 = subgroupBroadcast(v2, 1u);
    c17_0 = step4(c17_0, a17, b0_0, b1_0, b2_0, b3_0);
    c17_1 = step4(c17_1, a17, b0_1, b1_1, b2_1, b3_1);
    let a18 = subgroupBroadcast(v2, 2u);
    c18_0 = step4(c18_0, a18, b0_0, b1_0, b2_0, b3_0);
    c18_1 = step4(c18_1, a18, b0_1, b1_1, b2_1, b3_1);
    let a19 = subgroupBroadcast(v2, 3u);
    c19_0 = step4(c19_0, a19, b0_0, b1_0, b2_0, b3_0);
    c19_1 = step4(c19_1, a19, b0_1, b1_1, b2_1, b3_1);
    let a20 = subgroupBroadcast(v2, 4u);
    c20_0 = step4(c20_0, a20, b0_0, b1_0, b2_0, b3_0);
    c20_1 = step4(c20_1, a20, b0_1, b1_1, b2_1, b3_1);
    let a21 = subgroupBroadcast(v2, 5u);
    c21_0 = step4(c21_0, a21, b0_0, b1_0, b2_0, b3_0);
    c21_1 = step4(c21_1, a21, b0_1, b1_1, b2_1, b3_1);
    let a22 = subgroupBroadcast(v2, 6u);
    c22_0 = step4(c22_0, a22, b0_0, b1_0, b2_0, b3_0);
    c22_1 = step4(c22_1, a22, b0_1, b1_1, b2_1, b3_1);
    let a23 = subgroupBroadcast(v2, 7u);
    c23_0 = step4(c23_0, a23, b0_0, b1_0, b2_0, b3_0);
    c23_1 = step4(c23_1, a23, b0_1, b1_1, b2_1, b3_1);
    let a24 = subgroupBroadcast(v3, 0u);
    c24_0 = step4(c24_0, a24, b0_0, b1_0, b2_0, b3_0);
    c24_1 = step4(c24_1, a24, b0_1, b1_1, b2_1, b3_1);
    let a25 = subgroupBroadcast(v3, 1u);
    c25_0 = step4(c25_0, a25, b0_0, b1_0, b2_0, b3_0);
    c25_1 = step4(c25_1, a25, b0_1, b1_1, b2_1, b3_1);
    let a26 = subgroupBroadcast(v3, 2u);
    c26_0 = step4(c26_0, a26, b0_0, b1_0, b2_0, b3_0);
    c26_1 = step4(c26_1, a26, b0_1, b1_1, b2_1, b3_1);
    let a27 = subgroupBroadcast(v3, 3u);
    c27_0 = step4(c27_0, a27, b0_0, b1_0, b2_0, b3_0);
    c27_1 = step4(c27_1, a27, b0_1, b1_1, b2_1, b3_1);
    let a28 = subgroupBroadcast(v3, 4u);
    c28_0 = step4(c28_0, a28, b0_0, b1_0, b2_0, b3_0);
    c28_1 = step4(c28_1, a28, b0_1, b1_1, b2_1, b3_1);
    let a29 = subgroupBroadcast(v3, 5u);
    c29_0 = step4(c29_0, a29, b0_0, b1_0, b2_0, b3_0);
    c29_1 = step4(c29_1, a29, b0_1, b1_1, b2_1, b3_1);
    let a30 = subgroupBroadcast(v3, 6u);
    c30_0 = step4(c30_0, a30, b0_0, b1_0, b2_0, b3_0);
    c30_1 = step4(c30_1, a30, b0_1, b1_1, b2_1, b3_1);
    let a31 = subgroupBroadcast(v3, 7u);
    c31_0 = step4(c31_0, a31, b0_0, b1_0, b2_0, b3_0);
    c31_1 = step4(c31_1, a31, b0_1, b1_1, b2_1, b3_1);
  }
  var res: array<vec4<f32>, 64>;
  res[0] = c0_0; res[1] = c0_1;
  res[2] = c1_0; res[3] = c1_1;
  res[4] = c2_0; res[5] = c2_1;
  res[6] = c3_0; res[7] = c3_1;
  res[8] = c4_0; res[9] = c4_1;
  res[10] = c5_0; res[11] = c5_1;
  res[12] = c6_0; res[13] = c6_1;
  res[14] = c7_0; res[15] = c7_1;
  res[16] = c8_0; res[17] = c8_1;
  res[18] = c9_0; res[19] = c9_1;
  res[20] = c10_0; res[21] = c10_1;
  res[22] = c11_0; res[23] = c11_1;
  res[24] = c12_0; res[25] = c12_1;
  res[26] = c13_0; res[27] = c13_1;
  res[28] = c14_0; res[29] = c14_1;
  res[30] = c15_0; res[31] = c15_1;
  res[32] = c16_0; res[33] = c16_1;
  res[34] = c17_0; res[35] = c17_1;
  res[36] = c18_0; res[37] = c18_1;
  res[38] = c19_0; res[39] = c19_1;
  res[40] = c20_0; res[41] = c20_1;
  res[42] = c21_0; res[43] = c21_1;
  res[44] = c22_0; res[45] = c22_1;
  res[46] = c23_0; res[47] = c23_1;
  res[48] = c24_0; res[49] = c24_1;
  res[50] = c25_0; res[51] = c25_1;
  res[52] = c26_0; res[53] = c26_1;
  res[54] = c27_0; res[55] = c27_1;
  res[56] = c28_0; res[57] = c28_1;
  res[58] = c29_0; res[59] = c29_1;
  res[60] = c30_0; res[61] = c30_1;
  res[62] = c31_0; res[63] = c31_1;
  let rows = min(32u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 2u; i++) {
    store_row(wg.z, m0 + i / 2u, col4 + i % 2u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main8x16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 8u;
  let col4 = (wg.x * 8u + lane) * 4u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0); var c0_2 = vec4<f32>(0.0); var c0_3 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0); var c1_2 = vec4<f32>(0.0); var c1_3 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0); var c2_2 = vec4<f32>(0.0); var c2_3 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0); var c3_2 = vec4<f32>(0.0); var c3_3 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0); var c4_2 = vec4<f32>(0.0); var c4_3 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0); var c5_2 = vec4<f32>(0.0); var c5_3 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0); var c6_2 = vec4<f32>(0.0); var c6_3 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0); var c7_2 = vec4<f32>(0.0); var c7_3 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let b0_1 = textureLoad(tb, coord(kb + 1u), 0);
    let b1_1 = textureLoad(tb, coord(kb + 1u * N4p + 1u), 0);
    let b2_1 = textureLoad(tb, coord(kb + 2u * N4p + 1u), 0);
    let b3_1 = textureLoad(tb, coord(kb + 3u * N4p + 1u), 0);
    let b0_2 = textureLoad(tb, coord(kb + 2u), 0);
    let b1_2 = textureLoad(tb, coord(kb + 1u * N4p + 2u), 0);
    let b2_2 = textureLoad(tb, coord(kb + 2u * N4p + 2u), 0);
    let b3_2 = textureLoad(tb, coord(kb + 3u * N4p + 2u), 0);
    let b0_3 = textureLoad(tb, coord(kb + 3u), 0);
    let b1_3 = textureLoad(tb, coord(kb + 1u * N4p + 3u), 0);
    let b2_3 = textureLoad(tb, coord(kb + 2u * N4p + 3u), 0);
    let b3_3 = textureLoad(tb, coord(kb + 3u * N4p + 3u), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    c0_1 = step4(c0_1, a0, b0_1, b1_1, b2_1, b3_1);
    c0_2 = step4(c0_2, a0, b0_2, b1_2, b2_2, b3_2);
    c0_3 = step4(c0_3, a0, b0_3, b1_3, b2_3, b3_3);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    c1_1 = step4(c1_1, a1, b0_1, b1_1, b2_1, b3_1);
    c1_2 = step4(c1_2, a1, b0_2, b1_2, b2_2, b3_2);
    c1_3 = step4(c1_3, a1, b0_3, b1_3, b2_3, b3_3);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    c2_1 = step4(c2_1, a2, b0_1, b1_1, b2_1, b3_1);
    c2_2 = step4(c2_2, a2, b0_2, b1_2, b2_2, b3_2);
    c2_3 = step4(c2_3, a2, b0_3, b1_3, b2_3, b3_3);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    c3_1 = step4(c3_1, a3, b0_1, b1_1, b2_1, b3_1);
    c3_2 = step4(c3_2, a3, b0_2, b1_2, b2_2, b3_2);
    c3_3 = step4(c3_3, a3, b0_3, b1_3, b2_3, b3_3);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    c4_1 = step4(c4_1, a4, b0_1, b1_1, b2_1, b3_1);
    c4_2 = step4(c4_2, a4, b0_2, b1_2, b2_2, b3_2);
    c4_3 = step4(c4_3, a4, b0_3, b1_3, b2_3, b3_3);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    c5_1 = step4(c5_1, a5, b0_1, b1_1, b2_1, b3_1);
    c5_2 = step4(c5_2, a5, b0_2, b1_2, b2_2, b3_2);
    c5_3 = step4(c5_3, a5, b0_3, b1_3, b2_3, b3_3);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    c6_1 = step4(c6_1, a6, b0_1, b1_1, b2_1, b3_1);
    c6_2 = step4(c6_2, a6, b0_2, b1_2, b2_2, b3_2);
    c6_3 = step4(c6_3, a6, b0_3, b1_3, b2_3, b3_3);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    c7_1 = step4(c7_1, a7, b0_1, b1_1, b2_1, b3_1);
    c7_2 = step4(c7_2, a7, b0_2, b1_2, b2_2, b3_2);
    c7_3 = step4(c7_3, a7, b0_3, b1_3, b2_3, b3_3);
  }
  var res: array<vec4<f32>, 32>;
  res[0] = c0_0; res[1] = c0_1; res[2] = c0_2; res[3] = c0_3;
  res[4] = c1_0; res[5] = c1_1; res[6] = c1_2; res[7] = c1_3;
  res[8] = c2_0; res[9] = c2_1; res[10] = c2_2; res[11] = c2_3;
  res[12] = c3_0; res[13] = c3_1; res[14] = c3_2; res[15] = c3_3;
  res[16] = c4_0; res[17] = c4_1; res[18] = c4_2; res[19] = c4_3;
  res[20] = c5_0; res[21] = c5_1; res[22] = c5_2; res[23] = c5_3;
  res[24] = c6_0; res[25] = c6_1; res[26] = c6_2; res[27] = c6_3;
  res[28] = c7_0; res[29] = c7_1; res[30] = c7_2; res[31] = c7_3;
  let rows = min(8u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 4u; i++) {
    store_row(wg.z, m0 + i / 4u, col4 + i % 4u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main16x16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * 16u;
  let col4 = (wg.x * 8u + lane) * 4u;
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + col4;
  var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0); var c0_2 = vec4<f32>(0.0); var c0_3 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0); var c1_2 = vec4<f32>(0.0); var c1_3 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0); var c2_2 = vec4<f32>(0.0); var c2_3 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0); var c3_2 = vec4<f32>(0.0); var c3_3 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0); var c4_2 = vec4<f32>(0.0); var c4_3 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0); var c5_2 = vec4<f32>(0.0); var c5_3 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0); var c6_2 = vec4<f32>(0.0); var c6_3 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0); var c7_2 = vec4<f32>(0.0); var c7_3 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0); var c8_1 = vec4<f32>(0.0); var c8_2 = vec4<f32>(0.0); var c8_3 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0); var c9_1 = vec4<f32>(0.0); var c9_2 = vec4<f32>(0.0); var c9_3 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0); var c10_1 = vec4<f32>(0.0); var c10_2 = vec4<f32>(0.0); var c10_3 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0); var c11_1 = vec4<f32>(0.0); var c11_2 = vec4<f32>(0.0); var c11_3 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0); var c12_1 = vec4<f32>(0.0); var c12_2 = vec4<f32>(0.0); var c12_3 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0); var c13_1 = vec4<f32>(0.0); var c13_2 = vec4<f32>(0.0); var c13_3 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0); var c14_1 = vec4<f32>(0.0); var c14_2 = vec4<f32>(0.0); var c14_3 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0); var c15_1 = vec4<f32>(0.0); var c15_2 = vec4<f32>(0.0); var c15_3 = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let kb = bbase + 4u * k4 * N4p;
    let b0_0 = textureLoad(tb, coord(kb), 0);
    let b1_0 = textureLoad(tb, coord(kb + 1u * N4p), 0);
    let b2_0 = textureLoad(tb, coord(kb + 2u * N4p), 0);
    let b3_0 = textureLoad(tb, coord(kb + 3u * N4p), 0);
    let b0_1 = textureLoad(tb, coord(kb + 1u), 0);
    let b1_1 = textureLoad(tb, coord(kb + 1u * N4p + 1u), 0);
    let b2_1 = textureLoad(tb, coord(kb + 2u * N4p + 1u), 0);
    let b3_1 = textureLoad(tb, coord(kb + 3u * N4p + 1u), 0);
    let b0_2 = textureLoad(tb, coord(kb + 2u), 0);
    let b1_2 = textureLoad(tb, coord(kb + 1u * N4p + 2u), 0);
    let b2_2 = textureLoad(tb, coord(kb + 2u * N4p + 2u), 0);
    let b3_2 = textureLoad(tb, coord(kb + 3u * N4p + 2u), 0);
    let b0_3 = textureLoad(tb, coord(kb + 3u), 0);
    let b1_3 = textureLoad(tb, coord(kb + 1u * N4p + 3u), 0);
    let b2_3 = textureLoad(tb, coord(kb + 2u * N4p + 3u), 0);
    let b3_3 = textureLoad(tb, coord(kb + 3u * N4p + 3u), 0);
    let v0 = textureLoad(ta, coord(abase + k4), 0);
    let v1 = textureLoad(ta, coord(abase + 8u * K4 + k4), 0);
    let a0 = subgroupBroadcast(v0, 0u);
    c0_0 = step4(c0_0, a0, b0_0, b1_0, b2_0, b3_0);
    c0_1 = step4(c0_1, a0, b0_1, b1_1, b2_1, b3_1);
    c0_2 = step4(c0_2, a0, b0_2, b1_2, b2_2, b3_2);
    c0_3 = step4(c0_3, a0, b0_3, b1_3, b2_3, b3_3);
    let a1 = subgroupBroadcast(v0, 1u);
    c1_0 = step4(c1_0, a1, b0_0, b1_0, b2_0, b3_0);
    c1_1 = step4(c1_1, a1, b0_1, b1_1, b2_1, b3_1);
    c1_2 = step4(c1_2, a1, b0_2, b1_2, b2_2, b3_2);
    c1_3 = step4(c1_3, a1, b0_3, b1_3, b2_3, b3_3);
    let a2 = subgroupBroadcast(v0, 2u);
    c2_0 = step4(c2_0, a2, b0_0, b1_0, b2_0, b3_0);
    c2_1 = step4(c2_1, a2, b0_1, b1_1, b2_1, b3_1);
    c2_2 = step4(c2_2, a2, b0_2, b1_2, b2_2, b3_2);
    c2_3 = step4(c2_3, a2, b0_3, b1_3, b2_3, b3_3);
    let a3 = subgroupBroadcast(v0, 3u);
    c3_0 = step4(c3_0, a3, b0_0, b1_0, b2_0, b3_0);
    c3_1 = step4(c3_1, a3, b0_1, b1_1, b2_1, b3_1);
    c3_2 = step4(c3_2, a3, b0_2, b1_2, b2_2, b3_2);
    c3_3 = step4(c3_3, a3, b0_3, b1_3, b2_3, b3_3);
    let a4 = subgroupBroadcast(v0, 4u);
    c4_0 = step4(c4_0, a4, b0_0, b1_0, b2_0, b3_0);
    c4_1 = step4(c4_1, a4, b0_1, b1_1, b2_1, b3_1);
    c4_2 = step4(c4_2, a4, b0_2, b1_2, b2_2, b3_2);
    c4_3 = step4(c4_3, a4, b0_3, b1_3, b2_3, b3_3);
    let a5 = subgroupBroadcast(v0, 5u);
    c5_0 = step4(c5_0, a5, b0_0, b1_0, b2_0, b3_0);
    c5_1 = step4(c5_1, a5, b0_1, b1_1, b2_1, b3_1);
    c5_2 = step4(c5_2, a5, b0_2, b1_2, b2_2, b3_2);
    c5_3 = step4(c5_3, a5, b0_3, b1_3, b2_3, b3_3);
    let a6 = subgroupBroadcast(v0, 6u);
    c6_0 = step4(c6_0, a6, b0_0, b1_0, b2_0, b3_0);
    c6_1 = step4(c6_1, a6, b0_1, b1_1, b2_1, b3_1);
    c6_2 = step4(c6_2, a6, b0_2, b1_2, b2_2, b3_2);
    c6_3 = step4(c6_3, a6, b0_3, b1_3, b2_3, b3_3);
    let a7 = subgroupBroadcast(v0, 7u);
    c7_0 = step4(c7_0, a7, b0_0, b1_0, b2_0, b3_0);
    c7_1 = step4(c7_1, a7, b0_1, b1_1, b2_1, b3_1);
    c7_2 = step4(c7_2, a7, b0_2, b1_2, b2_2, b3_2);
    c7_3 = step4(c7_3, a7, b0_3, b1_3, b2_3, b3_3);
    let a8 = subgroupBroadcast(v1, 0u);
    c8_0 = step4(c8_0, a8, b0_0, b1_0, b2_0, b3_0);
    c8_1 = step4(c8_1, a8, b0_1, b1_1, b2_1, b3_1);
    c8_2 = step4(c8_2, a8, b0_2, b1_2, b2_2, b3_2);
    c8_3 = step4(c8_3, a8, b0_3, b1_3, b2_3, b3_3);
    let a9 = subgroupBroadcast(v1, 1u);
    c9_0 = step4(c9_0, a9, b0_0, b1_0, b2_0, b3_0);
    c9_1 = step4(c9_1, a9, b0_1, b1_1, b2_1, b3_1);
    c9_2 = step4(c9_2, a9, b0_2, b1_2, b2_2, b3_2);
    c9_3 = step4(c9_3, a9, b0_3, b1_3, b2_3, b3_3);
    let a10 = subgroupBroadcast(v1, 2u);
    c10_0 = step4(c10_0, a10, b0_0, b1_0, b2_0, b3_0);
    c10_1 = step4(c10_1, a10, b0_1, b1_1, b2_1, b3_1);
    c10_2 = step4(c10_2, a10, b0_2, b1_2, b2_2, b3_2);
    c10_3 = step4(c10_3, a10, b0_3, b1_3, b2_3, b3_3);
    let a11 = subgroupBroadcast(v1, 3u);
    c11_0 = step4(c11_0, a11, b0_0, b1_0, b2_0, b3_0);
    c11_1 = step4(c11_1, a11, b0_1, b1_1, b2_1, b3_1);
    c11_2 = step4(c11_2, a11, b0_2, b1_2, b2_2, b3_2);
    c11_3 = step4(c11_3, a11, b0_3, b1_3, b2_3, b3_3);
    let a12 = subgroupBroadcast(v1, 4u);
    c12_0 = step4(c12_0, a12, b0_0, b1_0, b2_0, b3_0);
    c12_1 = step4(c12_1, a12, b0_1, b1_1, b2_1, b3_1);
    c12_2 = step4(c12_2, a12, b0_2, b1_2, b2_2, b3_2);
    c12_3 = step4(c12_3, a12, b0_3, b1_3, b2_3, b3_3);
    let a13 = subgroupBroadcast(v1, 5u);
    c13_0 = step4(c13_0, a13, b0_0, b1_0, b2_0, b3_0);
    c13_1 = step4(c13_1, a13, b0_1, b1_1, b2_1, b3_1);
    c13_2 = step4(c13_2, a13, b0_2, b1_2, b2_2, b3_2);
    c13_3 = step4(c13_3, a13, b0_3, b1_3, b2_3, b3_3);
    let a14 = subgroupBroadcast(v1, 6u);
    c14_0 = step4(c14_0, a14, b0_0, b1_0, b2_0, b3_0);
    c14_1 = step4(c14_1, a14, b0_1, b1_1, b2_1, b3_1);
    c14_2 = step4(c14_2, a14, b0_2, b1_2, b2_2, b3_2);
    c14_3 = step4(c14_3, a14, b0_3, b1_3, b2_3, b3_3);
    let a15 = subgroupBroadcast(v1, 7u);
    c15_0 = step4(c15_0, a15, b0_0, b1_0, b2_0, b3_0);
    c15_1 = step4(c15_1, a15, b0_1, b1_1, b2_1, b3_1);
    c15_2 = step4(c15_2, a15, b0_2, b1_2, b2_2, b3_2);
    c15_3 = step4(c15_3, a15, b0_3, b1_3, b2_3, b3_3);
  }
  var res: array<vec4<f32>, 64>;
  res[0] = c0_0; res[1] = c0_1; res[2] = c0_2; res[3] = c0_3;
  res[4] = c1_0; res[5] = c1_1; res[6] = c1_2; res[7] = c1_3;
  res[8] = c2_0; res[9] = c2_1; res[10] = c2_2; res[11] = c2_3;
  res[12] = c3_0; res[13] = c3_1; res[14] = c3_2; res[15] = c3_3;
  res[16] = c4_0; res[17] = c4_1; res[18] = c4_2; res[19] = c4_3;
  res[20] = c5_0; res[21] = c5_1; res[22] = c5_2; res[23] = c5_3;
  res[24] = c6_0; res[25] = c6_1; res[26] = c6_2; res[27] = c6_3;
  res[28] = c7_0; res[29] = c7_1; res[30] = c7_2; res[31] = c7_3;
  res[32] = c8_0; res[33] = c8_1; res[34] = c8_2; res[35] = c8_3;
  res[36] = c9_0; res[37] = c9_1; res[38] = c9_2; res[39] = c9_3;
  res[40] = c10_0; res[41] = c10_1; res[42] = c10_2; res[43] = c10_3;
  res[44] = c11_0; res[45] = c11_1; res[46] = c11_2; res[47] = c11_3;
  res[48] = c12_0; res[49] = c12_1; res[50] = c12_2; res[51] = c12_3;
  res[52] = c13_0; res[53] = c13_1; res[54] = c13_2; res[55] = c13_3;
  res[56] = c14_0; res[57] = c14_1; res[58] = c14_2; res[59] = c14_3;
  res[60] = c15_0; res[61] = c15_1; res[62] = c15_2; res[63] = c15_3;
  let rows = min(16u, p.M - min(m0, p.M));
  for (var i = 0u; i < rows * 4u; i++) {
    store_row(wg.z, m0 + i / 4u, col4 + i % 4u, res[i]);
  }
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let TN4 = TN / 4u;
  let K4 = p.K4;
  let N4p = p.N4p;
  let m0 = wg.y * TM;
  let c4 = (wg.x * 8u + lane) * TN4;    // first B texel column of this lane
  let abase = wg.z * p.ta + (m0 + lane) * K4;
  let bbase = wg.z * p.tb + c4;

  var acc: array<vec4<f32>, 64>;        // acc[i * TN4 + j]: row m0+i, columns 4(c4+j)..+3
  for (var i = 0u; i < TM * TN4; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k4 = 0u; k4 < K4; k4++) {
    var bf: array<vec4<f32>, 8>;        // bf[kk * TN4 + j] = B[4k4+kk, 4(c4+j)..+3]
    let brow = bbase + 4u * k4 * N4p;
    for (var kk = 0u; kk < 4u; kk++) {
      for (var j = 0u; j < TN4; j++) {
        bf[kk * TN4 + j] = textureLoad(tb, coord(brow + kk * N4p + j), 0);
      }
    }
    for (var g = 0u; g < TM / 8u; g++) {
      let mine = textureLoad(ta, coord(abase + 8u * g * K4 + k4), 0);
      for (var l = 0u; l < 8u; l++) {
        let a = subgroupShuffle(mine, l);   // A[m0 + 8g + l, 4k4..4k4+3]
        let i = 8u * g + l;
        for (var j = 0u; j < TN4; j++) {
          acc[i * TN4 + j] += a.x * bf[j] + a.y * bf[TN4 + j] + a.z * bf[2u * TN4 + j] + a.w * bf[3u * TN4 + j];
        }
      }
    }
  }

  let N = p.N;
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < TN4; j++) {
      let v = acc[i * TN4 + j];
      for (var e = 0u; e < 4u; e++) {
        let n = 4u * (c4 + j) + e;
        if (n < N) {
          var x = v[e];
          if (HAS_BIAS) { x += bias[n]; }
          x = activate(x);
          if (OUT_MODE == 1u) {
            let img = m / p.hw;
            out[(img * N + n) * p.hw + (m - img * p.hw)] = x;
          } else {
            out[wg.z * p.so + m * N + n] = x;
          }
        }
      }
    }
  }
}
