// The start of the main function of matmul.wgsl and matmul_subgroup.wgsl: sizes, this
// invocation's first row and column, the batch offsets, and the TM×TN block of C in registers,
// zeroed. Spliced in by matmul.ts at their `//! splice` line, inline (see matmul_vec4_steps.wgsl).
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
