// Winograd F(2×2, 3×3) filter transform U = G g Gᵀ into a storage buffer of vec4 (4 output
// channels each) for shaders/conv2d_winu.wgsl: U[((c4·16 + 4i + j)·4 + e)·N4p + n4] =
// (G g Gᵀ)[i, j] of filter g = w[n, 4c4 + e] for n = 4n4..4n4+3, zero past Cin and N.
// FLIP: the input gradient's filters, w [Rc, N, 3, 3] used transposed and rotated by 180°.
override FLIP: bool = false;

struct Params {
  C4: u32,
  N4p: u32,
  Rc: u32,   // reduction channels
  N: u32,    // output channels
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> u: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Row i of G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
fn g_row(i: u32) -> vec3<f32> {
  switch i {
    case 0u: { return vec3<f32>(1.0, 0.0, 0.0); }
    case 1u: { return vec3<f32>(0.5, 0.5, 0.5); }
    case 2u: { return vec3<f32>(0.5, -0.5, 0.5); }
    default: { return vec3<f32>(0.0, 0.0, 1.0); }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.C4 * 64u * p.N4p) { return; }
  let r = t / p.N4p;
  let n0 = (t % p.N4p) * 4u;
  let e = r % 4u;
  let pos = (r / 4u) % 16u;
  let rc = (r / 64u) * 4u + e;
  let gi = g_row(pos / 4u);
  let gj = g_row(pos % 4u);
  var v = vec4<f32>(0.0);
  if (rc < p.Rc) {
    for (var k = 0u; k < 4u; k++) {
      let n = n0 + k;
      if (n < p.N) {
        var s = 0.0;
        for (var a = 0u; a < 3u; a++) {
          for (var b = 0u; b < 3u; b++) {
            var g: f32;
            if (FLIP) { g = w[(rc * p.N + n) * 9u + 8u - (3u * a + b)]; } else { g = w[(n * p.Rc + rc) * 9u + 3u * a + b]; }
            s += gi[a] * g * gj[b];
          }
        }
        v[k] = s;
      }
    }
  }
  u[t] = v;
}
