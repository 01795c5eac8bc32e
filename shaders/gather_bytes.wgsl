// Rows of an 8-bit data set kept on the device as bytes (four to a u32, little-endian), gathered by
// index and scaled to floats in one pass: out[m, k] = f32(byte[idx[m]·row + k])·scale + shift.
// This is how a training batch of Fashion-MNIST is drawn inside a recorded step: 47 MB of pixels
// stay resident as bytes, a quarter of their f32 size. One invocation writes four outputs.

override WG: u32 = 64;

struct Params {
  n: u32,       // output elements (m · row)
  row: u32,     // bytes per row
  rows: u32,    // rows in the data set (an index outside [0, rows) gives 0)
  _p0: u32,
  scale: f32,
  shift: f32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> bytes: array<u32>;
@group(0) @binding(1) var<storage, read> idx: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn byte_at(b: u32) -> u32 {
  return (bytes[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = gid.x + gid.y * nwg.x * WG;
  for (var j = 0u; j < 4u; j++) {
    let t = g * 4u + j;
    if (t >= p.n) { return; }
    let m = t / p.row;
    let k = t - m * p.row;
    let r = i32(floor(idx[m] + 0.5));
    var v = 0.0;
    if (r >= 0 && u32(r) < p.rows) { v = f32(byte_at(u32(r) * p.row + k)) * p.scale + p.shift; }
    out[t] = v;
  }
}
