// Packing passes for the texture GEMM (shaders/matmul_tex.wgsl; its header describes the texture
// layout): each writes a logical matrix R × C into `dst` as nb batches × Rp rows of C4p texels,
// texel (r, c4) = X[r, 4c4..4c4+3], zero past R rows and C columns. One invocation per texel.
//   pack       X = src matrix (row-major [R, C], or stored [C, R] with TRANS), nb batches
//   im2col     X[(img, oy, ox), (ci, ky, kx)] = x[img, ci, iy, ix] of an NCHW input, with the
//              row conv's virtual positions (shaders/conv2d.wgsl): v = o·STRIDE − pad + k, real
//              index v / DIL when v % DIL == 0, else 0. Forward: STRIDE s, DIL 1; the input
//              gradient: STRIDE 1, DIL s, pad KH−1−p over gy.
//   wflip      X[(co, ky, kx), ci] = w[co, ci, KH−1−ky, KW−1−kx] (B of the input gradient)
//   nchw_t     X[c, (img, pix)] = src[img, c, pix] (R = channels, hw pixels per image)
//   nhwc4      the implicit-GEMM conv input (shaders/conv2d_tex.wgsl): R = B·Hp·Wp padded pixels
//              of C4p texels, texel (img, py, px, c4) = x[img, 4c4..4c4+3, iy, ix] at the virtual
//              position (py − pad, px − pad) (real index v / DIL when v % DIL == 0, else 0);
//              Hi/Wi real size, Ho/Wo = Hp/Wp padded size, Cin channels
//   wconv      the implicit-GEMM conv weights: X[((ky·KW + kx)·C4 + c4)·4 + e, n] with rc = 4c4 + e
//              the reduction channel: w[n, rc, ky, kx] of w [C, Cin, KH, KW]; with TRANS (the input
//              gradient) w[rc, n, KH−1−ky, KW−1−kx] of w [Cin, C, KH, KW]. R = KH·KW·C4·4, Cin = rc count

override TRANS: bool = false;
override KH: u32 = 3;
override KW: u32 = 3;
override STRIDE: u32 = 1;
override DIL: u32 = 1;
override LOG_TW: u32 = 12;
override WG: u32 = 64;

struct Params {
  R: u32,
  C: u32,
  Rp: u32,
  C4p: u32,
  sstride: u32, // pack: elements per source batch
  nb: u32,
  Cin: u32,     // im2col: input channels; wflip: Cin; nchw_t: unused
  Hi: u32,
  Wi: u32,
  Ho: u32,
  Wo: u32,      // nchw_t: hw
  pad: i32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
// binding 1: the texel output `dst`, written with put_dst(texel, v) and declared by
// src/tensor/ops/texel_out.ts (a storage texture, or a staging buffer landed by a copy)
@group(0) @binding(2) var<uniform> p: Params;

fn texel(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  let per = p.Rp * p.C4p;
  if (t >= p.nb * per) { return; }
  let b = t / per;
  let r = (t % per) / p.C4p;
  let c0 = (t % p.C4p) * 4u;
  var v = vec4<f32>(0.0);
  if (r < p.R) {
    let base = b * p.sstride;
    for (var e = 0u; e < 4u; e++) {
      let c = c0 + e;
      if (c < p.C) {
        if (TRANS) { v[e] = src[base + c * p.R + r]; } else { v[e] = src[base + r * p.C + c]; }
      }
    }
  }
  put_dst(t, v);
}

fn real_index(v: i32, size: u32) -> i32 {
  if (v < 0) { return -1; }
  let u = u32(v);
  if (u % DIL != 0u) { return -1; }
  let q = u / DIL;
  return select(-1, i32(q), q < size);
}

@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  if (t >= p.Rp * p.C4p) { return; }
  let r = t / p.C4p;
  let c0 = (t % p.C4p) * 4u;
  var v = vec4<f32>(0.0);
  if (r < p.R) {
    let hw = p.Ho * p.Wo;
    let img = r / hw;
    let oy = (r % hw) / p.Wo;
    let ox = r % p.Wo;
    for (var e = 0u; e < 4u; e++) {
      let c = c0 + e;
      if (c < p.C) {
        let ci = c / (KH * KW);
        let ky = (c / KW) % KH;
        let kx = c % KW;
        let iy = real_index(i32(oy * STRIDE + ky) - p.pad, p.Hi);
        let ix = real_index(i32(ox * STRIDE + kx) - p.pad, p.Wi);
        if (iy >= 0 && ix >= 0) {
          v[e] = src[((img * p.Cin + ci) * p.Hi + u32(iy)) * p.Wi + u32(ix)];
        }
      }
    }
  }
  put_dst(t, v);
}

@compute @workgroup_size(WG)
fn wflip(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  if (t >= p.Rp * p.C4p) { return; }
  let r = t / p.C4p;
  let c0 = (t % p.C4p) * 4u;
  let taps = KH * KW;
  var v = vec4<f32>(0.0);
  if (r < p.R) {
    let co = r / taps;
    let tap = taps - 1u - r % taps;
    for (var e = 0u; e < 4u; e++) {
      let ci = c0 + e;
      if (ci < p.C) { v[e] = src[(co * p.Cin + ci) * taps + tap]; }
    }
  }
  put_dst(t, v);
}

@compute @workgroup_size(WG)
fn nchw_t(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  if (t >= p.Rp * p.C4p) { return; }
  let r = t / p.C4p;
  let c0 = (t % p.C4p) * 4u;
  let hw = p.Wo;
  var v = vec4<f32>(0.0);
  if (r < p.R) {
    for (var e = 0u; e < 4u; e++) {
      let c = c0 + e;
      if (c < p.C) {
        let img = c / hw;
        v[e] = src[(img * p.R + r) * hw + (c - img * hw)];
      }
    }
  }
  put_dst(t, v);
}

// nhwc4 with one invocation per padded pixel, looping over its C4 texels: the grid is
// (ceil(Wp / WG), Hp, B), so a pixel needs no divisions, and lanes read neighbouring pixels of one
// channel row together. Same params as nhwc4.
@compute @workgroup_size(WG)
fn nhwc4_px(@builtin(global_invocation_id) gid: vec3<u32>) {
  let px = gid.x;
  let py = gid.y;
  let img = gid.z;
  if (px >= p.Wo) { return; }
  let t0 = ((img * p.Ho + py) * p.Wo + px) * p.C4p;
  let iy = real_index(i32(py) - p.pad, p.Hi);
  let ix = real_index(i32(px) - p.pad, p.Wi);
  let hw = p.Hi * p.Wi;
  if (iy < 0 || ix < 0) {
    for (var c4 = 0u; c4 < p.C4p; c4++) { put_dst(t0 + c4, vec4<f32>(0.0)); }
    return;
  }
  var at = img * p.Cin * hw + u32(iy) * p.Wi + u32(ix);
  let full = p.Cin / 4u;
  for (var c4 = 0u; c4 < full; c4++) {
    let v = vec4<f32>(src[at], src[at + hw], src[at + 2u * hw], src[at + 3u * hw]);
    put_dst(t0 + c4, v);
    at += 4u * hw;
  }
  if (full < p.C4p) {
    var v = vec4<f32>(0.0);
    for (var e = 0u; 4u * full + e < p.Cin; e++) { v[e] = src[at + e * hw]; }
    put_dst(t0 + full, v);
  }
}

@compute @workgroup_size(WG)
fn nhwc4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  if (t >= p.Rp * p.C4p) { return; }
  let c4 = t % p.C4p;
  let pix = t / p.C4p;
  let php = p.Ho * p.Wo;
  let img = pix / php;
  let q = pix - img * php;
  let py = q / p.Wo;
  let px = q - py * p.Wo;
  var v = vec4<f32>(0.0);
  let iy = real_index(i32(py) - p.pad, p.Hi);
  let ix = real_index(i32(px) - p.pad, p.Wi);
  if (pix < p.R && iy >= 0 && ix >= 0) {
    let hw = p.Hi * p.Wi;
    let base = (img * p.Cin + 4u * c4) * hw + u32(iy) * p.Wi + u32(ix);
    for (var e = 0u; e < 4u; e++) {
      if (4u * c4 + e < p.Cin) { v[e] = src[base + e * hw]; }
    }
  }
  put_dst(t, v);
}

@compute @workgroup_size(WG)
fn wconv(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = texel(gid, nwg);
  if (t >= p.Rp * p.C4p) { return; }
  let r = t / p.C4p;
  let n0 = (t % p.C4p) * 4u;
  let taps = KH * KW;
  let C4 = p.R / (4u * taps);
  let rc = r % (4u * C4);
  let tap = r / (4u * C4);
  var v = vec4<f32>(0.0);
  if (r < p.R && rc < p.Cin) {
    for (var e = 0u; e < 4u; e++) {
      let n = n0 + e;
      if (n < p.C) {
        if (TRANS) { v[e] = src[(rc * p.C + n) * taps + (taps - 1u - tap)]; } else { v[e] = src[(n * p.Cin + rc) * taps + tap]; }
      }
    }
  }
  put_dst(t, v);
}
