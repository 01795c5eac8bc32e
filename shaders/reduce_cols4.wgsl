// reduce.wgsl's `cols` four columns at a time, for inner % 4 == 0: one thread per (outer, vec4 of
// inner) output reads each reduced row as one vec4 — on CPU adapters every storage access with a
// per-lane address is a per-lane loop, so this moves four floats per iteration instead of one
// (the sum of a conv weight gradient's 7–64 split partials, the bias gradients of sumTo).
// Same params and RED / LOAD codes as reduce.wgsl; no chunking (the caller's plain cols case).

override WG: u32 = 64;
override RED: u32 = 0;
override LOAD: u32 = 0;

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  chunk: u32,
  nchunks: u32,
  scale: f32,
  init: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn load(i: u32) -> vec4<f32> {
  if (LOAD == 1u) { let v = x[i]; return v * v; }
  if (LOAD == 2u) { return x[i] * y[i]; }
  return x[i];
}

@compute @workgroup_size(WG)
fn cols4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let inner4 = p.inner / 4u;
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.outer * inner4) { return; }
  let i = t % inner4;
  let o = t / inner4;
  var acc = vec4<f32>(p.init);
  var idx = o * p.len * inner4 + i;
  for (var r = 0u; r < p.len; r++) {
    if (RED == 1u) { acc = max(acc, load(idx)); } else { acc += load(idx); }
    idx += inner4;
  }
  out[t] = acc * p.scale;
}
