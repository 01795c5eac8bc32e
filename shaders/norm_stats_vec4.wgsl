// Mean and rstd of one (batch, group): n4 vec4s at x[base..], two passes (the variance about the
// mean, so no E[x²] − E[x]² cancellation). Shared by norm_vec4.wgsl and norm_pack.wgsl, which
// declare `x: array<vec4<f32>>`; src/tensor/ops/norm.ts prepends this file to each.
fn group_stats(base: u32, n4: u32, eps: f32) -> vec2<f32> {
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < n4; i++) { acc += x[base + i]; }
  let n = f32(4u * n4);
  let m = (acc.x + acc.y + acc.z + acc.w) / n;
  var q = vec4<f32>(0.0);
  for (var i = 0u; i < n4; i++) { let d = x[base + i] - m; q += d * d; }
  return vec2<f32>(m, inverseSqrt((q.x + q.y + q.z + q.w) / n + eps));
}
