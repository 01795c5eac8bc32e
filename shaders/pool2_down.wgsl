// `down2` of shaders/pool2.wgsl: out[nc, i, j] = scale · Σ_{a,b<2} x[nc, 2i + a, 2j + b], reading
// the two full-resolution row pairs as vec2s. One thread per output pixel; w: output width.

override WG: u32 = 64;

struct Params {
  n: u32,
  w: u32,
  scale: f32,
  _p0: u32,
}

@group(0) @binding(0) var<storage, read> x2: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn down2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) { return; }
  let row = t / p.w;
  let j = t - row * p.w;
  let o = 2u * row * p.w + j;
  let s = x2[o] + x2[o + p.w];
  out[t] = (s.x + s.y) * p.scale;
}
