// Fused optimizer updates over a flat parameter arena, one invocation per element.
//   adam: AdamW (Loshchilov & Hutter) with bias correction and decoupled weight decay
//   sgd:  SGD with momentum (PyTorch convention: L2 weight decay added to g, buf ← μ·buf + g)
// Values that change every step of a replayed recording come from the `hyper` storage buffer,
// which the host rewrites between replays (src/tensor/ops/optim.ts writeOptimState):
//   hyper[0] = bits of lr (f32) · hyper[1] = t (u32, ≥ 1) · hyper[2] = bits of gradScale (f32)
// Global-norm clipping without read-back: with CLIP, gsq[0] holds Σ grads² and the gradient is
// scaled by min(1, maxNorm / (gradScale·√Σ + 1e-6)).
// Adam is two dispatches: `adam_prologue` (one invocation) computes the per-step scalars (gradient
// scale, bias corrections) into `derived`; `adam` reads them. Computing 1 − βᵗ per element made
// the update 2–4× slower on lavapipe.
// With GUARD, a step whose loss or gradients are not finite is not applied: shaders/guard.wgsl sets
// derived[4] = 1 and `adam` leaves params, m and v as they are.

override WG: u32 = 256;
override CLIP: u32 = 0;
override NESTEROV: u32 = 0;
override GUARD: u32 = 0;

struct Params {
  n: u32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
  beta1: f32,   // sgd: momentum μ
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  maxNorm: f32,
}

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> hyper: array<u32>;
@group(0) @binding(5) var<storage, read> gsq: array<f32>;
@group(0) @binding(6) var<storage, read_write> derived: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

// 1 − β^t without cancellation: binary powering on pairs (1 − β^k, β^k) with
// 1 − β^(a+b) = (1 − β^a) + β^a·(1 − β^b): only sums of non-negative terms.
fn one_minus_pow(beta: f32, t: u32) -> f32 {
  var c = 0.0;            // 1 − β^acc
  var b = 1.0;            // β^acc
  var cb = 1.0 - beta;    // 1 − β^(2^i), exact for β in [0.5, 1]
  var bb = beta;          // β^(2^i)
  var e = t;
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) != 0u) {
      c = c + b * cb;
      b = b * bb;
    }
    cb = cb + bb * cb;
    bb = bb * bb;
    e = e >> 1u;
  }
  return c;
}

fn grad_scale() -> f32 {
  let gs = bitcast<f32>(hyper[2]);
  if (CLIP == 1u) {
    let norm = sqrt(gsq[0]) * abs(gs);
    return gs * min(1.0, p.maxNorm / (norm + 1e-6));
  }
  return gs;
}

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }

// derived = [lr, gradient scale (gradScale·clip), 1 − β₁ᵗ, √(1 − β₂ᵗ)]
@compute @workgroup_size(1)
fn adam_prologue() {
  let t = hyper[1];
  derived[0] = bitcast<f32>(hyper[0]);
  derived[1] = grad_scale();
  derived[2] = one_minus_pow(p.beta1, t);
  derived[3] = sqrt(one_minus_pow(p.beta2, t));
}

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  if (GUARD == 1u && derived[4] != 0.0) { return; }
  let lr = derived[0];
  let g = grads[i] * derived[1];
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let x = params[i];
  let upd = (mi / derived[2]) / (sqrt(vi) / derived[3] + p.eps);
  params[i] = x - lr * (upd + p.weightDecay * x);
}

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let lr = bitcast<f32>(hyper[0]);
  let x = params[i];
  let g = grads[i] * grad_scale() + p.weightDecay * x;
  var d = g;
  if (p.beta1 != 0.0) {
    let b = p.beta1 * m[i] + g;
    m[i] = b;
    d = select(b, g + p.beta1 * b, NESTEROV == 1u);
  }
  params[i] = x - lr * d;
}
