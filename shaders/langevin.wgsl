// Fused Langevin update: x ← x + step·s + noise·z with z ~ N(0, I) drawn here from Philox (the
// library of shaders/rng.wgsl is appended by src/tensor/ops/langevin.ts), so no noise tensor is
// ever stored. z equals randn with the same (seed, stream, offset, clock step) element for element.
// One invocation per Philox block: elements 4g..4g+3.

override WG: u32 = 64;
// 1: write x in place (out unused) · 0: write out, x only read
override INPLACE: u32 = 1;
// 1: multiply step and noise by coef[0], coef[1] (a [2] tensor a kernel or the host writes per step)
override USE_COEF: u32 = 0;
// 1: clamp each result to [box[c], box[cols + c]], c = i mod cols (rows of `cols` coordinates, a
// box per coordinate): keeps a chain inside its data's range in the same pass, no extra dispatch
override BOX: u32 = 0;

struct Params {
  //! splice philox_key.wgsl: n, seed, stream, offset
  step: f32,
  noise: f32,
  cols: u32,
  _p1: u32,
}

@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> clock: array<u32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
// [2, cols]: lower ends, then upper ends (BOX only)
@group(0) @binding(5) var<storage, read> box: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  //! splice philox_block.wgsl: g = this invocation's Philox block, base = 4g; past p.n returns
  var a = p.step;
  var b = p.noise;
  if (USE_COEF == 1u) {
    a = a * coef[0];
    b = b * coef[1];
  }
  let z = box_muller4(philox_block(g, p.seed, p.stream, p.offset, clock[0], clock[1]));
  for (var j = 0u; j < 4u; j++) {
    let i = base + j;
    if (i < p.n) {
      var v = x[i] + a * s[i] + b * z[j];
      if (BOX == 1u) {
        let c = i % p.cols;
        v = clamp(v, box[c], box[p.cols + c]);
      }
      if (INPLACE == 1u) { x[i] = v; } else { out[i] = v; }
    }
  }
}
