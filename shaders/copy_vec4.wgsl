// Strided copy of rows of vec4s: out[dbase + r·ds + c] = x[sbase + r·ss + c] for c < w, r < rows,
// every figure in vec4 units. The fast case of layout.wgsl's `box` (concatenation along channels,
// channel slices of NCHW tensors) when every row, stride and base is a multiple of 4 floats: one
// vec4 per invocation instead of one float with a div/mod per dimension (on lavapipe every
// storage access with a per-lane address is a per-lane loop, so a vec4 moves four floats for one).

override WG: u32 = 64;

struct Params {
  w: u32,
  rows: u32,
  ss: u32,
  ds: u32,
  sbase: u32,
  dbase: u32,
  _p1: u32,
  _p0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// grid: x covers a row, y the rows (past 65535 folded into z)
@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wg.x * WG + lid;
  let r = wg.y + wg.z * 65535u;
  if (c >= p.w || r >= p.rows) { return; }
  out[p.dbase + r * p.ds + c] = x[p.sbase + r * p.ss + c];
}
