// Step health for a training run, kept on the device and read with the loss at the log interval,
// so finding a NaN costs no read-back per step. Per step, after the loss and Σ grads² are made and
// before the optimizer runs:
//   `check` (one invocation): bad = the loss or Σ grads² is NaN or ±Inf (Σg² is non-finite exactly
//     when some gradient is, or when their norm overflows f32).
//     bad:  skipped += 1; derived[4] = 1 tells adam and the EMA to leave every value as it is; the
//           run's first bad step is kept with its loss and Σg², and derived[5] = 1 asks `locate`
//           to find its first non-finite gradient element.
//     good: lossSum += loss, lossCount += 1 (the mean loss of the interval leaves the bad steps out).
//   `locate` (a fixed small grid, grid-stride): when derived[5] = 1, the smallest index i with
//     grads[i] non-finite goes to health[4] (atomicMin); otherwise every invocation returns at once.
// health (u32 words): 0 lossSum (f32 bits) · 1 lossCount · 2 skipped · 3 the first bad step (0: none)
//   · 4 its first non-finite gradient element (0xffffffff: none) · 5 its loss (f32 bits) · 6 its Σg² (f32 bits)
// derived is the optimizer's per-step scratch (src/tensor/ops/optim.ts): words 4 and 5 are ours.

override WG: u32 = 64;

@group(0) @binding(0) var<storage, read> loss: array<f32>;
@group(0) @binding(1) var<storage, read> gsq: array<f32>;
@group(0) @binding(2) var<storage, read> hyper: array<u32>;
@group(0) @binding(3) var<storage, read_write> health: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> derived: array<f32>;
@group(0) @binding(5) var<storage, read> grads: array<f32>;

struct Params {
  n: u32,
}
@group(0) @binding(6) var<uniform> p: Params;

// NaN and ±Inf have an all-ones exponent; a bit test the compiler cannot fold away as fast-math might.
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn check() {
  let l = loss[0];
  let g = gsq[0];
  let bad = !(finite(l) && finite(g));
  var first = false;
  if (bad) {
    atomicAdd(&health[2], 1u);
    if (atomicLoad(&health[3]) == 0u) {
      atomicStore(&health[3], hyper[1]);
      atomicStore(&health[5], bitcast<u32>(l));
      atomicStore(&health[6], bitcast<u32>(g));
      first = true;
    }
  } else {
    atomicStore(&health[0], bitcast<u32>(bitcast<f32>(atomicLoad(&health[0])) + l));
    atomicAdd(&health[1], 1u);
  }
  derived[4] = select(0.0, 1.0, bad);
  derived[5] = select(0.0, 1.0, first);
}

@compute @workgroup_size(WG)
fn locate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (derived[5] == 0.0) { return; }
  let stride = nwg.x * WG;
  for (var i = gid.x; i < p.n; i = i + stride) {
    if (!finite(grads[i])) {
      atomicMin(&health[4], i);
      return; // later elements of this invocation have larger indices
    }
  }
}
