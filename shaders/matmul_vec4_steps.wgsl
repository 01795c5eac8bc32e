// The rest of the main function of matmul.wgsl and matmul_subgroup.wgsl after each has loaded
// its A fragment `af` (the two differ only in that): the B fragment, the TM×TN×4 multiply-add into
// `acc`, the end of the K loop and of the function, and the epilogue. Not a module of its own:
// matmul.ts splices it in at their `//! splice` line, so the code stays inline and the register
// arrays are indexed only in loops the compiler unrolls (function calls taking the arrays by
// pointer measured ~50× slower on lavapipe).
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
      if (m < M) { out[o] = activate4(acc[i0] + bv); }
      if (m + 1u < M) { out[o + N4] = activate4(acc[i0 + TN4] + bv); }
      if (m + 2u < M) { out[o + 2u * N4] = activate4(acc[i0 + 2u * TN4] + bv); }
      if (m + 3u < M) { out[o + 3u * N4] = activate4(acc[i0 + 3u * TN4] + bv); }
    }
  }
}
