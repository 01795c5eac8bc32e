// Layout ops: permute, tiled last-two-dims transpose, strided box copy (slice, concat), zero-padded
// placement (the slice gradient), row gather by index and its deterministic adjoint, plain copy.
// Shapes and strides up to rank 8 live in the uniform as array<vec4<u32>, 2>, innermost last.

override WG: u32 = 256;
// Rank of the index space for permute/box/pad: a constant lets the decode loops unroll with
// constant indices (dynamic indexing of the uniform arrays is slow on some compilers).
override RANK: u32 = 8;
const T: u32 = 16u;   // transpose tile

struct Params {
  n: u32,        // threads (output elements) to run
  rank: u32,     // informational: the kernels use the RANK constant
  sbase: u32,    // element offsets into x and out (box copy)
  dbase: u32,
  a: u32,        // per-entry scalars: transpose2d rows/cols, gather outer/len/m/inner
  b: u32,
  c: u32,
  d: u32,
  shape: array<vec4<u32>, 2>,   // the index space each thread decodes
  s1: array<vec4<u32>, 2>,      // source strides (permute, box, pad)
  s2: array<vec4<u32>, 2>,      // dest strides (box) or starts (pad)
  s3: array<vec4<u32>, 2>,      // source shape (pad)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn at(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  out[t] = x[t];
}

// out[t] = x[Σ c_k · s1_k] where c is t decoded over the output shape.
@compute @workgroup_size(WG)
fn permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  var rem = t;
  var src = 0u;
  for (var k = i32(RANK) - 1; k >= 0; k--) {
    let s = at(p.shape, u32(k));
    src += (rem % s) * at(p.s1, u32(k));
    rem /= s;
  }
  out[t] = x[src];
}

// out[dbase + Σ c_k · s2_k] = x[sbase + Σ c_k · s1_k] over the box `shape`.
@compute @workgroup_size(WG)
fn box(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  var rem = t;
  var src = p.sbase;
  var dst = p.dbase;
  for (var k = i32(RANK) - 1; k >= 0; k--) {
    let s = at(p.shape, u32(k));
    let c = rem % s;
    rem /= s;
    src += c * at(p.s1, u32(k));
    dst += c * at(p.s2, u32(k));
  }
  out[dst] = x[src];
}

// Zero tensor of `shape` with x (shape s3, strides s1) placed at `starts` (s2).
@compute @workgroup_size(WG)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  var rem = t;
  var src = 0u;
  var inside = true;
  for (var k = i32(RANK) - 1; k >= 0; k--) {
    let kk = u32(k);
    let s = at(p.shape, kk);
    let c = rem % s;
    rem /= s;
    let st = at(p.s2, kk);
    inside = inside && c >= st && c - st < at(p.s3, kk);
    src += (c - st) * at(p.s1, kk);   // wraps when outside; unused then
  }
  var v = 0.0;
  if (inside) { v = x[src]; }
  out[t] = v;
}

// [batch, rows, cols] -> [batch, cols, rows] through a padded workgroup tile: both the read and
// the write are coalesced. a = rows, b = cols; workgroup (x: col tile, y: row tile, z: batch).
var<workgroup> tile: array<f32, 272>;   // T * (T + 1)

@compute @workgroup_size(16, 16)
fn transpose2d(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let R = p.a;
  let C = p.b;
  let base = wid.z * R * C;
  let c0 = wid.x * T;
  let r0 = wid.y * T;
  let r = r0 + lid.y;
  let c = c0 + lid.x;
  if (r < R && c < C) { tile[lid.y * (T + 1u) + lid.x] = x[base + r * C + c]; }
  workgroupBarrier();
  let oc = c0 + lid.y;
  let orow = r0 + lid.x;
  if (oc < C && orow < R) { out[base + oc * R + orow] = tile[lid.x * (T + 1u) + lid.y]; }
}

fn index_of(v: f32) -> i32 { return i32(floor(v + 0.5)); }

// x [outer, len, inner], idx [m] -> out [outer, m, inner]; an index outside [0, len) gives 0.
// a = outer, b = len, c = m, d = inner.
@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  let i = t % p.d;
  let om = t / p.d;
  let m = om % p.c;
  let o = om / p.c;
  let j = index_of(idx[m]);
  var v = 0.0;
  if (j >= 0 && u32(j) < p.b) { v = x[(o * p.b + u32(j)) * p.d + i]; }
  out[t] = v;
}

// Adjoint of gather without atomics: out [outer, len, inner] = Σ_m [idx[m] == j] gy[o, m, i],
// with gy bound as x. Deterministic; cost len·m·inner, meant for small index counts.
@compute @workgroup_size(WG)
fn gather_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(gid, nwg);
  if (t >= p.n) { return; }
  let i = t % p.d;
  let oj = t / p.d;
  let j = i32(oj % p.b);
  let o = oj / p.b;
  var acc = 0.0;
  for (var m = 0u; m < p.c; m++) {
    if (index_of(idx[m]) == j) { acc += x[(o * p.c + m) * p.d + i]; }
  }
  out[t] = acc;
}
