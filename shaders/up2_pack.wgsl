// No-grad ×2 nearest up-sampling straight into the padded NHWC4 texture of the conv that follows
// (tex_pack.wgsl 'nhwc4' layout: texel ((b·Hp + py)·Wp + px)·C4 + c4, the image at (pad, pad),
// zero elsewhere), so that neither the up-sampled tensor nor the conv's packing pass is written.
// One invocation per (image, texel column c4, input row i): it reads the row's 4 channels pixel by
// pixel and stores each as the 2×2 block of texels it becomes; the invocations of the first and
// last input rows also zero the border rows, every invocation its two rows' border columns.

override WG: u32 = 8;
override LOG_TW: u32 = 12;

struct Params {
  items: u32,   // B · C4 · H
  C: u32,       // channels of x
  C4: u32,      // texels per pixel: ceil(C / 4)
  H: u32,       // input height and width (the output is 2H × 2W)
  W: u32,
  Hp: u32,      // padded texture image
  Wp: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
// binding 1: the texel output `dst` (put_dst), declared by src/tensor/ops/texel_out.ts
@group(0) @binding(2) var<uniform> p: Params;

fn put(b: u32, py: u32, px: u32, c4: u32, v: vec4<f32>) {
  let t = ((b * p.Hp + py) * p.Wp + px) * p.C4 + c4;
  put_dst(t, v);
}

fn zero_row(b: u32, py: u32, c4: u32) {
  for (var px = 0u; px < p.Wp; px++) { put(b, py, px, c4, vec4<f32>(0.0)); }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.items) { return; }
  let i = t % p.H;
  let bc = t / p.H;
  let c4 = bc % p.C4;
  let b = bc / p.C4;
  let hw = p.H * p.W;
  let W2 = 2u * p.W;
  let y0 = p.pad + 2u * i;
  var at = (b * p.C + 4u * c4) * hw + i * p.W;
  for (var j = 0u; j < p.W; j++) {
    var v = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
      if (4u * c4 + e < p.C) { v[e] = x[at + e * hw + j]; }
    }
    let x0 = p.pad + 2u * j;
    put(b, y0, x0, c4, v);
    put(b, y0, x0 + 1u, c4, v);
    put(b, y0 + 1u, x0, c4, v);
    put(b, y0 + 1u, x0 + 1u, c4, v);
  }
  for (var dy = 0u; dy < 2u; dy++) {
    for (var px = 0u; px < p.pad; px++) { put(b, y0 + dy, px, c4, vec4<f32>(0.0)); }
    for (var px = p.pad + W2; px < p.Wp; px++) { put(b, y0 + dy, px, c4, vec4<f32>(0.0)); }
  }
  if (i == 0u) { for (var py = 0u; py < p.pad; py++) { zero_row(b, py, c4); } }
  if (i == p.H - 1u) { for (var py = p.pad + 2u * p.H; py < p.Hp; py++) { zero_row(b, py, c4); } }
}
