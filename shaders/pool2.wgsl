// The k = 2 upsample of pool.wgsl with vec2 stores (shaders/pool2_down.wgsl: the 2×2 block sum):
// on lavapipe every storage access with a per-lane address is a per-lane loop, so this reads each
// input once and writes its 2×2 block as two vec2s, where pool.wgsl's `up` takes 4 loads, 4 stores.
//   out[nc, 2i + a, 2j + b] = scale · x[nc, i, j], one thread per input pixel (w: input width)

override WG: u32 = 64;

struct Params {
  n: u32,
  w: u32,
  scale: f32,
  _p0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out2: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn up2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) { return; }
  let row = t / p.w;                // nc·h + i
  let j = t - row * p.w;
  let v = vec2<f32>(x[t] * p.scale);
  let o = 2u * row * p.w + j;       // vec2 index of (nc, 2i, 2j): a full row is w vec2s
  out2[o] = v;
  out2[o + p.w] = v;
}
