// Softmax family along one axis of a tensor viewed as [outer, len, inner].
// OP: 0 softmax, 1 log-softmax, 2 softmax backward  gx = y·(gy − Σ gy·y),
//     3 log-softmax backward  gx = gy − exp(y)·Σ gy   (y is the forward output in both).
// `rows` (inner == 1): one workgroup per row; max and sum are workgroup-memory tree reductions,
// reads are coalesced along the row. `cols` (inner > 1): one thread per (outer, inner) column,
// neighbouring threads reading neighbouring addresses.

override WG: u32 = 256;   // power of two
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

// Reduce v across the workgroup (max when is_max) and give every invocation the result.
fn wg_reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  sh[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = sh[lid];
      let b = sh[lid + s];
      sh[lid] = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let r = sh[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;   // uniform
  if (row >= p.outer) { return; }
  let base = row * p.len;
  let n = p.len;
  if (OP <= 1u) {
    var m = -3.402823e38;
    for (var i = lid; i < n; i += WG) { m = max(m, x[base + i]); }
    m = wg_reduce(m, lid, true);
    var s = 0.0;
    for (var i = lid; i < n; i += WG) { s += exp(x[base + i] - m); }
    s = wg_reduce(s, lid, false);
    if (OP == 0u) {
      let inv = 1.0 / s;
      for (var i = lid; i < n; i += WG) { out[base + i] = exp(x[base + i] - m) * inv; }
    } else {
      let lse = m + log(s);
      for (var i = lid; i < n; i += WG) { out[base + i] = x[base + i] - lse; }
    }
  } else {
    var s = 0.0;
    for (var i = lid; i < n; i += WG) {
      if (OP == 2u) { s += g[base + i] * x[base + i]; } else { s += g[base + i]; }
    }
    s = wg_reduce(s, lid, false);
    for (var i = lid; i < n; i += WG) {
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
