// C = act(op(A)·op(B) + bias) for K ≤ 8 with N a multiple of 4: the `outer` kernel of
// matmul_small.wgsl (read that first) with vec4 stores — these kernels are store-bound, and on CPU
// adapters each per-lane store is a loop over the lanes, so one 16-byte store beats four 4-byte ones.
// Completed by matmul_params.wgsl (the transposes, the epilogue switches, Params, activate4).

override WG: u32 = 8;            // invocations per workgroup (along n)
override TMO: u32 = 16;          // rows of C per invocation

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let n0 = min((wg.x * WG + lid.x) * 4u, N - 4u); // lanes past N redo the last strip
  let m0 = wg.y * TMO;
  let z = wg.z;
  let aoff = z * p.sa;
  let boff = z * p.sb;
  // bf[k] = B[k, n0..n0+3]
  var bf: array<vec4<f32>, 8>;
  for (var k = 0u; k < 8u; k++) {
    if (k >= K) { break; }
    if (TRANS_B) {
      bf[k] = vec4<f32>(b[boff + n0 * K + k], b[boff + (n0 + 1u) * K + k], b[boff + (n0 + 2u) * K + k], b[boff + (n0 + 3u) * K + k]);
    } else {
      let o = boff + k * N + n0;
      bf[k] = vec4<f32>(b[o], b[o + 1u], b[o + 2u], b[o + 3u]);
    }
  }
  var bv = vec4<f32>(0.0);
  if (HAS_BIAS) { bv = vec4<f32>(bias[n0], bias[n0 + 1u], bias[n0 + 2u], bias[n0 + 3u]); }
  let mend = min(M, m0 + TMO);
  let N4 = N / 4u;
  var o = (z * p.so + m0 * N + n0) / 4u;
  for (var m = m0; m < mend; m++) {
    var acc = bv;
    for (var k = 0u; k < 8u; k++) {
      if (k >= K) { break; }
      var idx: u32;
      if (TRANS_A) { idx = k * M + m; } else { idx = m * K + k; }
      acc += a[aoff + idx] * bf[k];
    }
    out[o] = activate4(acc);
    o += N4;
  }
}
