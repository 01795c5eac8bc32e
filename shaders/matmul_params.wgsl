// Shared by the buffer matmul kernels (matmul.wgsl, matmul_subgroup.wgsl, matmul_scalar.wgsl,
// matmul_outer.wgsl), which matmul.ts and matmul_small.ts complete with this text (WGSL has no
// includes): the transposes, the epilogue's switches, the per-call parameters and the activation.

override TRANS_A: bool = false; // A stored [K, M]
override TRANS_B: bool = false; // B stored [N, K]
override HAS_BIAS: bool = false;
override ACT: u32 = 0;          // 0 none, 1 silu, 2 relu

struct Params {
  M: u32,
  N: u32,
  K: u32,
  _pad: u32,
  // per-batch element offsets: A, B (0 when that side broadcasts), out
  sa: u32,
  sb: u32,
  so: u32,
  _pad2: u32,
}

fn activate(x: f32) -> f32 {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return max(x, 0.0); }
    default: { return x; }
  }
}

fn activate4(x: vec4<f32>) -> vec4<f32> {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return max(x, vec4<f32>(0.0)); }
    default: { return x; }
  }
}
