// GroupNorm backward, TPR threads per (batch, group) as in norm.wgsl. With x̂ = (x − μ)·rstd, z = γ_c x̂ + β_c,
// y = z (or silu(z) when SILU: gy is then the gradient of silu(z) and gz = gy·silu'(z), z
// recomputed here so the fused forward never stores it):
//   A_c = Σ_s gz,  B_c = Σ_s gz·x̂         per channel (tree reductions)
//   gx  = rstd·(γ_c gz − Σ_c γ_c A_c / n − x̂ · Σ_c γ_c B_c / n)
// and the per-batch partials of ∂γ = B, ∂β = A go to part[b, 0:C] and part[b, C:2C]
// (norm_params.wgsl sums them over the batch).

override WG: u32 = 256;
override TPR: u32 = 256;   // threads per (batch, group): power of two <= WG
override HAS_GAMMA: u32 = 0;
override HAS_BETA: u32 = 0;
override SILU: u32 = 0;

struct Params {
  bg: u32,
  groups: u32,
  cpg: u32,
  s: u32,
  c: u32,        // channels
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> gx: array<f32>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> sh: array<vec2<f32>, WG>;

fn seg_sum2(v: vec2<f32>, lid: u32, lane: u32) -> vec2<f32> {
  if (TPR == 1u) { return v; }
  sh[lid] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { sh[lid] += sh[lid + s]; }
    workgroupBarrier();
  }
  let r = sh[lid - lane];
  workgroupBarrier();
  return r;
}

fn gam(c: u32) -> f32 { if (HAS_GAMMA != 0u) { return gamma[c]; } return 1.0; }
fn bet(c: u32) -> f32 { if (HAS_BETA != 0u) { return beta[c]; } return 0.0; }

// gradient with respect to z
fn dz(g: f32, xh: f32, ga: f32, be: f32) -> f32 {
  if (SILU != 0u) {
    let z = ga * xh + be;
    let sg = 1.0 / (1.0 + exp(-z));
    return g * sg * (1.0 + z * (1.0 - sg));
  }
  return g;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = w < p.bg;   // threads past the end still take part in the barriers
  let g = w % p.groups;
  let b = w / p.groups;
  let S = select(0u, p.s, valid);
  let n = p.cpg * S;
  let base = w * n;
  let m = mean[min(w, p.bg - 1u)];
  let r = rstd[min(w, p.bg - 1u)];
  let c0 = g * p.cpg;
  var sA = 0.0;
  var sB = 0.0;
  for (var cl = 0u; cl < p.cpg; cl++) {
    let c = c0 + cl;
    let ga = gam(c);
    let be = bet(c);
    var acc = vec2<f32>(0.0);
    let cb = base + cl * S;
    for (var s = lane; s < S; s += TPR) {
      let xh = (x[cb + s] - m) * r;
      let gz = dz(gy[cb + s], xh, ga, be);
      acc += vec2<f32>(gz, gz * xh);
    }
    let t = seg_sum2(acc, lid, lane);
    if (lane == 0u && valid) {
      part[b * 2u * p.c + c] = t.y;          // ∂γ partial
      part[b * 2u * p.c + p.c + c] = t.x;    // ∂β partial
    }
    sA += ga * t.x;
    sB += ga * t.y;
  }
  let mg = sA / f32(max(n, 1u));
  let mgx = sB / f32(max(n, 1u));
  for (var i = lane; i < n; i += TPR) {
    let c = c0 + i / S;
    let ga = gam(c);
    let xh = (x[base + i] - m) * r;
    let gz = dz(gy[base + i], xh, ga, bet(c));
    gx[base + i] = r * (ga * gz - mg - xh * mgx);
  }
}
