// Reductions over one contiguous block of axes: the input is viewed as [outer, len, inner] and
// reduced over `len`. The op chooses the combine (RED: 0 sum, 1 max) and what is loaded
// (LOAD: 0 x, 1 x², 2 x·y), so sum, mean, max, sum of squares and dot share two kernels.
//
// `rows` (inner == 1): TPR threads per (row, chunk of the row) — a whole workgroup for long rows,
// one thread for very short ones; threads stride the row with coalesced reads, then a
// workgroup-memory tree within each TPR segment. A very long row (1e6 elements into one) is split
// into chunks that write partials [outer, nchunks], and a second launch reduces those.
// `cols` (inner > 1): one thread per (outer, chunk, inner) output; neighbouring threads read
// neighbouring addresses of each reduced row. Partials are [outer, nchunks, inner].
// Every result is multiplied by p.scale (1/len for a mean, applied in the last launch only).

override WG: u32 = 256;   // power of two
override TPR: u32 = 256;  // threads per row item: power of two <= WG
override RED: u32 = 0;
override LOAD: u32 = 0;

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  chunk: u32,    // elements of `len` per partial
  nchunks: u32,
  scale: f32,
  init: f32,     // identity of the combine: 0 or -inf
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> sh: array<f32, WG>;

fn combine(a: f32, b: f32) -> f32 {
  if (RED == 1u) { return max(a, b); }
  return a + b;
}

fn load(i: u32) -> f32 {
  if (LOAD == 1u) { let v = x[i]; return v * v; }
  if (LOAD == 2u) { return x[i] * y[i]; }
  return x[i];
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // WG / TPR items (row chunks) per workgroup, TPR threads each: short rows do not leave a
  // whole workgroup idle, long rows get the whole workgroup.
  let item = (wid.x + wid.y * nwg.x) * (WG / TPR) + lid / TPR;
  let lane = lid % TPR;
  let row = item / p.nchunks;
  let c = item % p.nchunks;
  var acc = p.init;
  if (row < p.outer) {
    let base = row * p.len;
    let lo = c * p.chunk;
    let hi = min(lo + p.chunk, p.len);
    // two independent accumulators per thread hide the load latency
    var acc2 = p.init;
    var i = lo + lane;
    for (; i + TPR < hi; i += 2u * TPR) {
      acc = combine(acc, load(base + i));
      acc2 = combine(acc2, load(base + i + TPR));
    }
    if (i < hi) { acc = combine(acc, load(base + i)); }
    acc = combine(acc, acc2);
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { sh[lid] = combine(sh[lid], sh[lid + s]); }
    workgroupBarrier();
  }
  if (lane == 0u && row < p.outer) { out[item] = sh[lid] * p.scale; }
}

@compute @workgroup_size(WG)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.outer * p.nchunks * p.inner) { return; }
  let i = t % p.inner;
  let oc = t / p.inner;
  let c = oc % p.nchunks;
  let o = oc / p.nchunks;
  let lo = c * p.chunk;
  let hi = min(lo + p.chunk, p.len);
  var acc = p.init;
  var idx = (o * p.len + lo) * p.inner + i;
  for (var r = lo; r < hi; r++) {
    acc = combine(acc, load(idx));
    idx += p.inner;
  }
  out[t] = acc * p.scale;
}
