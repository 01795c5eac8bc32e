// The texture GEMM's plain packing pass (tex_pack.wgsl 'pack', not transposed) when rows are whole
// texels (C % 4 == 0, batch strides too): texel (b, r, c4) is the vec4 at row r, columns 4·c4.., so
// each invocation does one vec4 load instead of four scalar ones (a vec4 storage access is one
// 8-lane gather of 16 bytes on lavapipe, four scalar ones are four gathers). Zero past R and C.

override LOG_TW: u32 = 12;
override WG: u32 = 64;

struct Params {
  R: u32,
  C4: u32,      // texels of a source row: C / 4
  Rp: u32,
  C4p: u32,
  sstride4: u32, // vec4s per source batch
  nb: u32,
  _p0: u32,
  _p1: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
// binding 1: the texel output `dst` (put_dst), declared by src/tensor/ops/texel_out.ts
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn pack4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  let per = p.Rp * p.C4p;
  if (t >= p.nb * per) { return; }
  let b = t / per;
  let q = t - b * per;
  let r = q / p.C4p;
  let c4 = q - r * p.C4p;
  var v = vec4<f32>(0.0);
  if (r < p.R && c4 < p.C4) { v = src[b * p.sstride4 + r * p.C4 + c4]; }
  put_dst(t, v);
}
