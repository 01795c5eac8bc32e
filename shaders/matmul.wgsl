// Batched matmul, register-blocked, vec4 loads: out[z] = act(op(A[z])·op(B[z]) + bias).
//
// Each invocation computes a TM×TN block of C in registers (TM, TN ∈ {4, 8}), stepping K four at
// a time: it loads a TM×4 fragment of A and a 4×TN fragment of B as vec4s and does TM·TN·4 FMAs.
// No workgroup memory: on lavapipe (8-wide AVX2 lanes) storage loads dominate and shared tiles did
// not pay; on a GPU the WG×TM by WG×TN footprint stays in L1/L2. Workgroup shape is WGX×WGY.
//
// This is the aligned variant: N and the contiguous dimension of each operand must be multiples of
// 4 (A: K, or M when TRANS_A; B: N, or K when TRANS_B), so every vec4 load and store is aligned. matmul_scalar.wgsl takes the same parameters for any shape.
// Rows/columns past M/N are clamped into the tensor (results discarded); k past K reads zero.
// matmul.ts completes this file with matmul_params.wgsl (the transposes, the epilogue switches,
// Params, activate4) and splices matmul_vec4_steps.wgsl (the B fragment, the multiply-add,
// the epilogue; shared with matmul_subgroup.wgsl) in at its `//! splice` line.

override TM: u32 = 4;           // rows of C per invocation (4 or 8)
override TN: u32 = 4;           // columns of C per invocation (4 or 8)
override WGX: u32 = 8;          // invocations per workgroup along N
override WGY: u32 = 1;          // invocations per workgroup along M

//! splice matmul_vec4_bindings.wgsl: a, b, bias, out, p

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  //! splice matmul_vec4_head.wgsl: sizes, offsets, the zeroed C block `acc`

  for (var k0 = 0u; k0 < K; k0 += 4u) {
    // A fragment. Normal: af[i] = A[m0+i, k0..k0+3]. TRANS_A: af[kk*TM4 + g] = A[k0+kk, m0+4g..+3].
    var af: array<vec4<f32>, 8>;
    if (TRANS_A) {
      for (var kk = 0u; kk < 4u; kk++) {
        let k = k0 + kk;
        let kc = min(k, K - 1u);
        for (var g = 0u; g < TM4; g++) {
          let col = min(m0 + 4u * g, M - 4u);
          let v = a[aoff + (kc * M + col) / 4u];
          af[kk * TM4 + g] = select(vec4<f32>(0.0), v, k < K);
        }
      }
    } else {
      // Loops over TM go by groups of 4 written out, so the compiler unrolls them fully and the
      // register arrays never get a dynamic index (lavapipe would spill them to memory).
      for (var g = 0u; g < TM4; g++) {
        let r = m0 + 4u * g;
        af[4u * g] = a[aoff + (min(r, M - 1u) * K + k0) / 4u];
        af[4u * g + 1u] = a[aoff + (min(r + 1u, M - 1u) * K + k0) / 4u];
        af[4u * g + 2u] = a[aoff + (min(r + 2u, M - 1u) * K + k0) / 4u];
        af[4u * g + 3u] = a[aoff + (min(r + 3u, M - 1u) * K + k0) / 4u];
      }
    }
    //! splice matmul_vec4_steps.wgsl: the B fragment, the multiply-add, the epilogue
