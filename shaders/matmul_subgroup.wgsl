enable subgroups;

// Batched matmul, subgroup variant of matmul.wgsl (read that first): same register tiles, but the
// TM×4 A fragment that all WGX lanes of a workgroup need is loaded once — lane l loads vec4 number
// l of it — and handed round with subgroupBroadcast (a register permute on lavapipe), cutting A's
// storage loads by 8. Needs TM = 8, WGX = 8, WGY = 1 and a subgroup holding the whole workgroup
// (subgroup size >= 8); only compiled when the device has the `subgroups` feature.

override TM: u32 = 8;           // rows of C per invocation (must be 8 here)
override TN: u32 = 4;           // columns of C per invocation (4 or 8)
override WGX: u32 = 8;          // invocations per workgroup along N (must be 8 here)
override WGY: u32 = 1;          // invocations per workgroup along M (must be 1 here)
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

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

fn activate(x: vec4<f32>) -> vec4<f32> {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return max(x, vec4<f32>(0.0)); }
    default: { return x; }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(subgroup_invocation_id) lane: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let n0 = (wg.x * WGX + lid.x) * TN;
  let m0 = (wg.y * WGY + lid.y) * TM;
  let z = wg.z;
  let aoff = (z * p.sa) / 4u; // in vec4s
  let boff = (z * p.sb) / 4u;
  let TM4 = TM / 4u;
  let TN4 = TN / 4u;

  // C block: acc[i * TN4 + j] holds row m0+i, columns n0+4j..n0+4j+3.
  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }

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
    // B fragment as rows: bf[kk*TN4 + j] = B[k0+kk, n0+4j..+3].
    var bf: array<vec4<f32>, 8>;
    if (TRANS_B) {
      // Load columns of B (rows of the stored [N, K]) and transpose 4×4 blocks in registers.
      for (var j = 0u; j < TN4; j++) {
        let c = n0 + 4u * j;
        let t = transpose(mat4x4<f32>(
          b[boff + (min(c, N - 1u) * K + k0) / 4u],
          b[boff + (min(c + 1u, N - 1u) * K + k0) / 4u],
          b[boff + (min(c + 2u, N - 1u) * K + k0) / 4u],
          b[boff + (min(c + 3u, N - 1u) * K + k0) / 4u]));
        for (var kk = 0u; kk < 4u; kk++) { bf[kk * TN4 + j] = t[kk]; }
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        let k = k0 + kk;
        let kc = min(k, K - 1u);
        for (var j = 0u; j < TN4; j++) {
          let col = min(n0 + 4u * j, N - 4u);
          let v = b[boff + (kc * N + col) / 4u];
          bf[kk * TN4 + j] = select(vec4<f32>(0.0), v, k < K);
        }
      }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      for (var g = 0u; g < TM4; g++) {
        // a4 = A[m0+4g..m0+4g+3, k0+kk]
        var a4: vec4<f32>;
        if (TRANS_A) {
          a4 = af[kk * TM4 + g];
        } else {
          a4 = vec4<f32>(af[4u * g][kk], af[4u * g + 1u][kk], af[4u * g + 2u][kk], af[4u * g + 3u][kk]);
        }
        for (var j = 0u; j < TN4; j++) {
          let bv = bf[kk * TN4 + j];
          let i0 = 4u * g * TN4 + j;
          acc[i0] += a4.x * bv;
          acc[i0 + TN4] += a4.y * bv;
          acc[i0 + 2u * TN4] += a4.z * bv;
          acc[i0 + 3u * TN4] += a4.w * bv;
        }
      }
    }
  }

  // Epilogue: bias, activation, one vec4 store per row and column group (N is a multiple of 4).
  for (var j = 0u; j < TN4; j++) {
    let n = n0 + 4u * j;
    if (n >= N) { break; }
    var bv = vec4<f32>(0.0);
    if (HAS_BIAS) { bv = bias[n / 4u]; }
    for (var g = 0u; g < TM4; g++) {
      let m = m0 + 4u * g;
      let o = (z * p.so + m * N + n) / 4u;
      let N4 = N / 4u;
      let i0 = 4u * g * TN4 + j;
      if (m < M) { out[o] = activate(acc[i0] + bv); }
      if (m + 1u < M) { out[o + N4] = activate(acc[i0 + TN4] + bv); }
      if (m + 2u < M) { out[o + 2u * N4] = activate(acc[i0 + 2u * TN4] + bv); }
      if (m + 3u < M) { out[o + 3u * N4] = activate(acc[i0 + 3u * TN4] + bv); }
    }
  }
}
