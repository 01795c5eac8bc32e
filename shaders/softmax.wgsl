// Softmax family along one axis of a tensor viewed as [outer, len, inner].
// OP: 0 softmax, 1 log-softmax, 2 softmax backward  gx = y·(gy − Σ gy·y),
//     3 log-softmax backward  gx = gy − exp(y)·Σ gy   (y is the forward output in both).
// `rows` (inner == 1): TPR threads per row (a whole workgroup for long rows, one thread for very
// short ones); max and sum are workgroup-memory tree reductions, reads coalesced along the row. `cols` (inner > 1): one thread per (outer, inner) column,
// neighbouring threads reading neighbouring addresses.

override WG: u32 = 256;   // power of two
override TPR: u32 = 256;  // threads per row: power of two <= WG
override OP: u32 = 0;

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;   // input (forward) or y (backward)
@group(0) @binding(1) var<storage, read> g: array<f32>;   // gy (backward only)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> sh: array<f32, WG>;

// Reduce v across this invocation's TPR-thread segment (max when is_max); every invocation of the
// segment gets the result. Called from uniform control flow (the barriers).
fn seg_reduce(v: f32, lid: u32, lane: u32, is_max: bool) -> f32 {
  sh[lid] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      let a = sh[lid];
      let b = sh[lid + s];
      sh[lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let r = sh[lid - lane];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // WG / TPR rows per workgroup, TPR threads per row. Threads past the last row still take
  // part in the barriers, with nothing to load.
  let row = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let valid = row < p.outer;
  let base = select(0u, row * p.len, valid);
  let n = select(0u, p.len, valid);
  if (OP <= 1u) {
    var m = -3.402823e38;
    for (var i = lane; i < n; i += TPR) { m = max(m, x[base + i]); }
    m = seg_reduce(m, lid, lane, true);
    var s = 0.0;
    for (var i = lane; i < n; i += TPR) { s += exp(x[base + i] - m); }
    s = seg_reduce(s, lid, lane, false);
    if (OP == 0u) {
      let inv = 1.0 / s;
      for (var i = lane; i < n; i += TPR) { out[base + i] = exp(x[base + i] - m) * inv; }
    } else {
      let lse = m + log(s);
      for (var i = lane; i < n; i += TPR) { out[base + i] = x[base + i] - lse; }
    }
  } else {
    var s = 0.0;
    for (var i = lane; i < n; i += TPR) {
      if (OP == 2u) { s += g[base + i] * x[base + i]; } else { s += g[base + i]; }
    }
    s = seg_reduce(s, lid, lane, false);
    for (var i = lane; i < n; i += TPR) {
      let k = base + i;
      if (OP == 2u) { out[k] = x[k] * (g[k] - s); } else { out[k] = g[k] - exp(x[k]) * s; }
    }
  }
}

@compute @workgroup_size(WG)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.outer * p.inner) { return; }
  let o = t / p.inner;
  let base = o * p.len * p.inner + t % p.inner;
  let st = p.inner;
  let n = p.len;
  if (OP <= 1u) {
    var m = -3.402823e38;
    for (var i = 0u; i < n; i++) { m = max(m, x[base + i * st]); }
    var s = 0.0;
    for (var i = 0u; i < n; i++) { s += exp(x[base + i * st] - m); }
    if (OP == 0u) {
      let inv = 1.0 / s;
      for (var i = 0u; i < n; i++) { out[base + i * st] = exp(x[base + i * st] - m) * inv; }
    } else {
      let lse = m + log(s);
      for (var i = 0u; i < n; i++) { out[base + i * st] = x[base + i * st] - lse; }
    }
  } else {
    var s = 0.0;
    for (var i = 0u; i < n; i++) {
      let k = base + i * st;
      if (OP == 2u) { s += g[k] * x[k]; } else { s += g[k]; }
    }
    for (var i = 0u; i < n; i++) {
      let k = base + i * st;
      if (OP == 2u) { out[k] = x[k] * (g[k] - s); } else { out[k] = g[k] - exp(x[k]) * s; }
    }
  }
}
