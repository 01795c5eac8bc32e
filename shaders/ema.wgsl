// Exponential moving average of parameters: ema ← d·ema + (1 − d)·params.
// With WARMUP = 1 the decay ramps up with the optimizer's step t (read from the optimizer state
// buffer, word 1), d = min(decay, (1 + t)/(10 + t)), as TensorFlow's ExponentialMovingAverage does
// with num_updates: early averages do not drag the long-gone initial weights along.
// With GUARD = 1 a step the guard skipped (shaders/guard.wgsl: skip[4] = 1, the optimizer's scratch)
// leaves the average as it is too.

override WG: u32 = 256;
override WARMUP: u32 = 0;
override GUARD: u32 = 0;

struct Params {
  n: u32,
  decay: f32,
}

@group(0) @binding(0) var<storage, read_write> ema: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<storage, read> skip: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  if (GUARD == 1u && skip[4] != 0.0) { return; }
  var d = p.decay;
  if (WARMUP == 1u) {
    let t = f32(state[1]);
    d = min(d, (1.0 + t) / (10.0 + t));
  }
  ema[i] = d * ema[i] + (1.0 - d) * params[i];
}
