// The one update every image sampler shares (annealed Langevin, DDPM ancestral, DDIM, and the
// reverse-SDE predictors and correctors to come):
//   x̂₀ = p·x + q·out           (the model-output adapter's x₀ — or, with p = 0, q = 1, out itself)
//   x̂₀ ← clamp(x̂₀, lo, hi)     (only with CLIP: DDPM/DDIM's clipping of the predicted x₀)
//   x  ← a·x + b·x̂₀ + c·z      z ~ N(0, I) from Philox, keyed by (seed, stream, clock step)
// The coefficients (p, q, a, b, c, lo, hi) are read from a small storage buffer that the host
// rewrites before each replay of a recorded step, so one recording serves every step of a chain.
// z equals randn under the same key element for element. One invocation per Philox block (4 values).

override WG: u32 = 64;
// 1: clamp x̂₀ to [lo, hi] before the update
override CLIP: u32 = 0;
// 1: x ← known + mask·(x − known) after the update, i.e. keep the given pixels (inpainting): mask is
// 1 where the sampler decides, 0 where `known` (the data noised to the next level) is imposed
override MASK: u32 = 0;

struct Params {
  //! splice philox_key.wgsl: n, seed, stream, offset
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> model_out: array<f32>;
@group(0) @binding(2) var<storage, read> clock: array<u32>;
// [p, q, a, b, c, lo, hi, _]
@group(0) @binding(3) var<storage, read> coef: array<f32>;
@group(0) @binding(4) var<storage, read> mask: array<f32>;
@group(0) @binding(5) var<storage, read> known: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  //! splice philox_block.wgsl: g = this invocation's Philox block, base = 4g; past p.n returns
  let cp = coef[0]; let cq = coef[1];
  let ca = coef[2]; let cb = coef[3]; let cc = coef[4];
  let lo = coef[5]; let hi = coef[6];
  var z = vec4<f32>(0.0);
  if (cc != 0.0) { z = box_muller4(philox_block(g, p.seed, p.stream, p.offset, clock[0], clock[1])); }
  for (var j = 0u; j < 4u; j++) {
    let i = base + j;
    if (i < p.n) {
      let xi = x[i];
      var x0 = cp * xi + cq * model_out[i];
      if (CLIP == 1u) { x0 = clamp(x0, lo, hi); }
      var v = ca * xi + cb * x0 + cc * z[j];
      if (MASK == 1u) { v = known[i] + mask[i] * (v - known[i]); }
      x[i] = v;
    }
  }
}
