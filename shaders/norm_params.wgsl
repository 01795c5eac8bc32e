// GroupNorm parameter gradients: sum the per-batch partials part[b, 0:C] (∂γ) and part[b, C:2C]
// (∂β) over the batch. One thread per channel; neighbouring threads read neighbouring channels.

override WG: u32 = 64;

struct Params {
  batch: u32,
  c: u32,
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> ggamma: array<f32>;
@group(0) @binding(2) var<storage, read_write> gbeta: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.c) { return; }
  var a = 0.0;
  var b = 0.0;
  for (var i = 0u; i < p.batch; i++) {
    a += part[i * 2u * p.c + c];
    b += part[i * 2u * p.c + p.c + c];
  }
  ggamma[c] = a;
  gbeta[c] = b;
}
