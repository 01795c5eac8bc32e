// GroupNorm forward over [B, C, S...] (S = product of the spatial dims, 1 for [B, C]).
// TPR threads per (batch, group), WG/TPR groups per workgroup (a whole workgroup per group on a
// GPU; one thread per group on CPU adapters, where tree barriers are what costs): the group's
// cpg·S elements are contiguous, so every pass reads coalesced. Mean, then the variance about it (two passes over data that is in cache, no
// E[x²]−E[x]² cancellation), each a workgroup-memory tree reduction; then the normalised output
// with optional per-channel affine and a fused SiLU (GroupNorm+SiLU is one kernel on the U-Net's
// hot path). Writes mean and rstd per (batch, group) for the backward.

override WG: u32 = 256;      // power of two
override TPR: u32 = 256;     // threads per (batch, group): power of two <= WG
override HAS_GAMMA: u32 = 0;
override HAS_BETA: u32 = 0;
override SILU: u32 = 0;

struct Params {
  bg: u32,       // batch · groups = workgroups
  groups: u32,
  cpg: u32,      // channels per group
  s: u32,        // spatial size
  eps: f32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> sh: array<f32, WG>;

// Sum over this invocation's TPR-thread segment; every invocation of it gets the result.
fn seg_sum(v: f32, lid: u32, lane: u32) -> f32 {
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

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;   // (batch, group) item
  let lane = lid % TPR;
  let valid = w < p.bg;   // threads past the end still take part in the barriers
  let g = w % p.groups;
  let n = select(0u, p.cpg * p.s, valid);
  let base = w * n;                // (b·C + g·cpg)·S
  var acc = 0.0;
  for (var i = lane; i < n; i += TPR) { acc += x[base + i]; }
  let m = seg_sum(acc, lid, lane) / f32(max(n, 1u));
  var q = 0.0;
  for (var i = lane; i < n; i += TPR) { let d = x[base + i] - m; q += d * d; }
  let r = inverseSqrt(seg_sum(q, lid, lane) / f32(max(n, 1u)) + p.eps);
  if (lane == 0u && valid) {
    mean[w] = m;
    rstd[w] = r;
  }
  let c0 = g * p.cpg;
  for (var i = lane; i < n; i += TPR) {
    let c = c0 + i / p.s;
    var v = (x[base + i] - m) * r;
    if (HAS_GAMMA != 0u) { v *= gamma[c]; }
    if (HAS_BETA != 0u) { v += beta[c]; }
    if (SILU != 0u) { v = v / (1.0 + exp(-v)); }
    out[base + i] = v;
  }
}
