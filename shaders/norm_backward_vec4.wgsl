// GroupNorm backward for the thread-per-group style when the spatial size is a multiple of 4:
// norm_backward.wgsl's formulas with TPR = 1, reading x and gy and writing gx as vec4s along each
// channel (on lavapipe a per-lane storage access is a per-lane loop: a vec4 moves 4 for 1).
//   A_c = Σ_s gz,  B_c = Σ_s gz·x̂ per channel; gx = rstd·(γ_c gz − Σ_c γ_c A_c / n − x̂ · Σ_c γ_c B_c / n)
// and the per-batch partials of ∂γ = B, ∂β = A go to part[b, 0:C] and part[b, C:2C].

override WG: u32 = 8;
override HAS_GAMMA: u32 = 0;
override HAS_BETA: u32 = 0;
override SILU: u32 = 0;

struct Params {
  bg: u32,
  groups: u32,
  cpg: u32,
  s4: u32,       // spatial size / 4
  c: u32,        // channels
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> gx: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

// gradient with respect to z = γ x̂ + β (through SiLU when the forward fused it)
fn dz(g: vec4<f32>, xh: vec4<f32>, ga: f32, be: f32) -> vec4<f32> {
  if (SILU != 0u) {
    let z = ga * xh + be;
    let sg = 1.0 / (1.0 + exp(-z));
    return g * sg * (1.0 + z * (1.0 - sg));
  }
  return g;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;
  if (w >= p.bg) { return; }
  let g = w % p.groups;
  let b = w / p.groups;
  let s4 = p.s4;
  let n4 = p.cpg * s4;
  let base = w * n4;
  let m = mean[w];
  let r = rstd[w];
  let c0 = g * p.cpg;
  var sA = 0.0;
  var sB = 0.0;
  for (var cl = 0u; cl < p.cpg; cl++) {
    let c = c0 + cl;
    var ga = 1.0;
    var be = 0.0;
    if (HAS_GAMMA != 0u) { ga = gamma[c]; }
    if (HAS_BETA != 0u) { be = beta[c]; }
    var a = vec4<f32>(0.0);
    var bb = vec4<f32>(0.0);
    let cb = base + cl * s4;
    for (var s = 0u; s < s4; s++) {
      let xh = (x[cb + s] - m) * r;
      let gz = dz(gy[cb + s], xh, ga, be);
      a += gz;
      bb += gz * xh;
    }
    let tA = a.x + a.y + a.z + a.w;
    let tB = bb.x + bb.y + bb.z + bb.w;
    part[b * 2u * p.c + c] = tB;          // ∂γ partial
    part[b * 2u * p.c + p.c + c] = tA;    // ∂β partial
    sA += ga * tA;
    sB += ga * tB;
  }
  let n = f32(4u * n4);
  let mg = sA / n;
  let mgx = sB / n;
  for (var cl = 0u; cl < p.cpg; cl++) {
    let c = c0 + cl;
    var ga = 1.0;
    var be = 0.0;
    if (HAS_GAMMA != 0u) { ga = gamma[c]; }
    if (HAS_BETA != 0u) { be = beta[c]; }
    let cb = base + cl * s4;
    for (var s = 0u; s < s4; s++) {
      let xh = (x[cb + s] - m) * r;
      let gz = dz(gy[cb + s], xh, ga, be);
      gx[cb + s] = r * (ga * gz - mg - xh * mgx);
    }
  }
}
