enable subgroups;

// Batched matmul, subgroup variant of matmul.wgsl (read that first): same register tiles, but the
// TM×4 A fragment that all WGX lanes of a workgroup need is loaded once — lane l loads vec4 number
// l of it — and handed round with subgroupBroadcast (a register permute on lavapipe), cutting A's
// storage loads by 8. Needs TM = 8, WGX = 8, WGY = 1 and a subgroup holding the whole workgroup
// (subgroup size >= 8); only compiled when the device has the `subgroups` feature. Completed by
// matmul_params.wgsl and matmul_vec4_steps.wgsl as matmul.wgsl is.

override TM: u32 = 8;           // rows of C per invocation (must be 8 here)
override TN: u32 = 4;           // columns of C per invocation (4 or 8)
override WGX: u32 = 8;          // invocations per workgroup along N (must be 8 here)
override WGY: u32 = 1;          // invocations per workgroup along M (must be 1 here)

//! splice matmul_vec4_bindings.wgsl: a, b, bias, out, p

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  //! splice matmul_vec4_head.wgsl: sizes, offsets, the zeroed C block `acc`

  for (var k0 = 0u; k0 < K; k0 += 4u) {
    // A fragment, 8 vec4s. Normal: af[i] = A[m0+i, k0..k0+3]. TRANS_A: af[kk*2 + g] = A[k0+kk, m0+4g..+3].
    // Lane `lane` loads entry `lane`; every lane then gathers all 8 by broadcast.
    var mine: vec4<f32>;
    if (TRANS_A) {
      let kk = lane / 2u;
      let g = lane % 2u;
      let k = k0 + kk;
      let col = min(m0 + 4u * g, M - 4u);
      mine = select(vec4<f32>(0.0), a[aoff + (min(k, K - 1u) * M + col) / 4u], k < K);
    } else {
      mine = a[aoff + (min(m0 + lane, M - 1u) * K + k0) / 4u];
    }
    var af: array<vec4<f32>, 8>;
    af[0] = subgroupBroadcast(mine, 0u);
    af[1] = subgroupBroadcast(mine, 1u);
    af[2] = subgroupBroadcast(mine, 2u);
    af[3] = subgroupBroadcast(mine, 3u);
    af[4] = subgroupBroadcast(mine, 4u);
    af[5] = subgroupBroadcast(mine, 5u);
    af[6] = subgroupBroadcast(mine, 6u);
    af[7] = subgroupBroadcast(mine, 7u);
    //! splice matmul_vec4_steps.wgsl: the B fragment, the multiply-add, the epilogue
