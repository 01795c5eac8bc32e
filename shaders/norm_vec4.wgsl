// GroupNorm forward for CPU adapters when the spatial size is a multiple of 4: one invocation per
// (batch, group), as norm.wgsl with TPR = 1, but reading and writing vec4s (on lavapipe every
// storage access with a per-lane address is a per-lane loop, so a vec4 moves 4 elements for the
// price of one). Per channel: γ and β once, then its S/4 vec4s. Mean and rstd (norm_stats_vec4.wgsl),
// then silu?(γ·x̂ + β); writes mean and rstd per (batch, group) for the backward.

override WG: u32 = 8;
override HAS_GAMMA: u32 = 0;
override HAS_BETA: u32 = 0;
override SILU: u32 = 0;

struct Params {
  bg: u32,       // batch · groups
  groups: u32,
  cpg: u32,      // channels per group
  s4: u32,       // spatial size / 4
  eps: f32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;   // (batch, group) item
  if (w >= p.bg) { return; }
  let n4 = p.cpg * p.s4;
  let base = w * n4;
  let st = group_stats(base, n4, p.eps);   // norm_stats_vec4.wgsl
  let m = st.x;
  let r = st.y;
  mean[w] = m;
  rstd[w] = r;
  let c0 = (w % p.groups) * p.cpg;
  var i = base;
  for (var ch = 0u; ch < p.cpg; ch++) {
    var a = r;
    var b = -m * r;
    if (HAS_GAMMA != 0u) { let g = gamma[c0 + ch]; a *= g; b *= g; }
    if (HAS_BETA != 0u) { b += beta[c0 + ch]; }
    for (var k = 0u; k < p.s4; k++) {
      var v = x[i] * a + b;
      if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
      out[i] = v;
      i++;
    }
  }
}
