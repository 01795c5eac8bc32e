// Batched matmul for any shape: the same register-blocked TM×TN scheme as matmul.wgsl (read that
// first) with scalar, bounds-checked loads, so no dimension or offset needs to be a multiple of 4.
// Used when an operand's contiguous dimension is not a multiple of 4 (e.g. K = 2 or 27).
// Completed by matmul_params.wgsl (the transposes, the epilogue switches, Params, activate).

override TM: u32 = 4;           // rows of C per invocation (4 or 8)
override TN: u32 = 4;           // columns of C per invocation (4 or 8)
override WGX: u32 = 8;          // invocations per workgroup along N
override WGY: u32 = 1;          // invocations per workgroup along M

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// A[m, k] of the current batch (stored [M, K], or [K, M] with TRANS_A); 0 outside. The index is
// clamped so the load itself never leaves the tensor.
fn lda(off: u32, m: u32, k: u32, M: u32, K: u32) -> f32 {
  let mc = min(m, M - 1u);
  let kc = min(k, K - 1u);
  var idx: u32;
  if (TRANS_A) { idx = kc * M + mc; } else { idx = mc * K + kc; }
  return select(0.0, a[off + idx], m < M && k < K);
}

// B[k, n] of the current batch (stored [K, N], or [N, K] with TRANS_B); 0 outside.
fn ldb(off: u32, k: u32, n: u32, N: u32, K: u32) -> f32 {
  let nc = min(n, N - 1u);
  let kc = min(k, K - 1u);
  var idx: u32;
  if (TRANS_B) { idx = nc * K + kc; } else { idx = kc * N + nc; }
  return select(0.0, b[off + idx], n < N && k < K);
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  let n0 = (wg.x * WGX + lid.x) * TN;
  let m0 = (wg.y * WGY + lid.y) * TM;
  let z = wg.z;
  let aoff = z * p.sa;
  let boff = z * p.sb;
  let TN4 = TN / 4u;

  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < K; k0 += 4u) {
    // af[i] = A[m0+i, k0..k0+3]; bf[kk*TN4 + j] = B[k0+kk, n0+4j..+3]; zero outside the matrix.
    var af: array<vec4<f32>, 8>;
    for (var i = 0u; i < TM; i++) {
      let m = m0 + i;
      af[i] = vec4<f32>(lda(aoff, m, k0, M, K), lda(aoff, m, k0 + 1u, M, K), lda(aoff, m, k0 + 2u, M, K), lda(aoff, m, k0 + 3u, M, K));
    }
    var bf: array<vec4<f32>, 8>;
    for (var kk = 0u; kk < 4u; kk++) {
      for (var j = 0u; j < TN4; j++) {
        let n = n0 + 4u * j;
        let k = k0 + kk;
        bf[kk * TN4 + j] = vec4<f32>(ldb(boff, k, n, N, K), ldb(boff, k, n + 1u, N, K), ldb(boff, k, n + 2u, N, K), ldb(boff, k, n + 3u, N, K));
      }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      for (var i = 0u; i < TM; i++) {
        let av = af[i][kk];
        for (var j = 0u; j < TN4; j++) {
          acc[i * TN4 + j] += av * bf[kk * TN4 + j];
        }
      }
    }
  }

  // Epilogue: bias, activation, bounds-checked stores.
  for (var i = 0u; i < TM; i++) {
    let m = m0 + i;
    if (m >= M) { break; }
    for (var j = 0u; j < TN4; j++) {
      for (var c = 0u; c < 4u; c++) {
        let n = n0 + 4u * j + c;
        if (n < N) {
          var v = acc[i * TN4 + j][c];
          if (HAS_BIAS) { v += bias[n]; }
          out[z * p.so + m * N + n] = activate(v);
        }
      }
    }
  }
}
