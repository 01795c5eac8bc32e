// Inpainting's projection (Song et al. 2021, score_sde's inpainter; RePaint's known part):
//   x ← m ⊙ (mean·y + std·z) + (1 − m) ⊙ x,   z ~ N(0, I) from Philox, keyed by (seed, stream, clock step)
// after each sampler step: the known pixels (m = 1) are replaced by the data y noised to the level the
// chain is at. (mean, std) come from a small storage buffer the host rewrites before each replay of the
// recorded step, as the update coefficients do. The mask is read as m ≥ 0.5 and applied by select, not
// by m·v + (1 − m)·x: with mean = 1, std = 0 a known pixel is then y bit for bit, and a non-finite x
// under a known pixel does not leak through 0·x. z equals randn under the same key element for element.
// One invocation per Philox block (4 values).

override WG: u32 = 64;

struct Params {
  //! splice philox_key.wgsl: n, seed, stream, offset
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read> clock: array<u32>;
// [mean, std, _, _]
@group(0) @binding(4) var<storage, read> level: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  //! splice philox_block.wgsl: g = this invocation's Philox block, base = 4g; past p.n returns
  let mean = level[0];
  let sd = level[1];
  var z = vec4<f32>(0.0);
  if (sd != 0.0) { z = box_muller4(philox_block(g, p.seed, p.stream, p.offset, clock[0], clock[1])); }
  for (var j = 0u; j < 4u; j++) {
    let i = base + j;
    if (i < p.n) {
      if (mask[i] >= 0.5) { x[i] = mean * y[i] + sd * z[j]; }
    }
  }
}
