// Exponential moving average of parameters: ema ← decay·ema + (1 − decay)·params.

override WG: u32 = 256;

struct Params {
  n: u32,
  decay: f32,
}

@group(0) @binding(0) var<storage, read_write> ema: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  ema[i] = p.decay * ema[i] + (1.0 - p.decay) * params[i];
}
