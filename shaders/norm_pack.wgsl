// GroupNorm(+SiLU) forward that also writes its output as the zero-padded NHWC4 texture the next
// implicit-GEMM convolution reads (tex_pack.wgsl 'nhwc4' layout: texel ((b·Hp + py)·Wp + px)·C4 + c4
// holds channels 4·c4..4·c4+3 of pixel (py − pad, px − pad), zero outside the image), so that conv
// skips its packing pass. As norm_vec4.wgsl: one invocation per (batch, group), vec4 accesses along
// each channel, here owning whole texels (G groups of cpg channels, G·cpg % 4 == 0): it reads 4 pixels of
// 4 channels as 4 vec4s and stores them as 4 texels (a 4×4 transpose in registers); where cpg is not
// a multiple of 4 (192 channels in 32 groups) an invocation owns G = 2 or 4 groups. When S % 4 != 0
// (the 7×7 levels) channel planes are not vec4-aligned, but a group (cpg·S elements) still is: the
// statistics stay vec4, the output pass reads and writes one pixel of 4 channels at a time.
// With RAW the input x itself is also stored, unpadded NHWC4, for a 1×1 conv that reads the norm's
// input (a ResBlock's skip projection), which then skips its own packing pass. The input may be
// one part of a channel concatenation (g0, gp): one dispatch per part writes the whole tensor's
// texture, so a no-grad U-Net never materialises the concatenation of its skip connections.

override WG: u32 = 8;
override HAS_GAMMA: u32 = 0;
override HAS_BETA: u32 = 0;
override SILU: u32 = 0;
override LOG_TW: u32 = 12;
override WRITE_OUT: u32 = 1;   // 0: only the texture (no-grad: the conv is the output's one reader)
override RAW: u32 = 0;
override G: u32 = 1;           // groups an invocation owns: 4 / gcd(cpg, 4), so that it owns whole texels         // 1: also write the input x, unpadded NHWC4, to `raw` (a 1×1 conv's input)

struct Params {
  bg: u32,       // batch · gp items of this dispatch
  groups: u32,
  cpg: u32,      // channels per group (a multiple of 4)
  s4: u32,       // spatial size / 4 (rounded down)
  eps: f32,
  H: u32,
  W: u32,
  Hp: u32,       // padded texture image size
  Wp: u32,
  pad: u32,
  C4: u32,       // texels per pixel: channels / 4
  S: u32,        // spatial size H·W
  g0: u32,       // first group this dispatch covers: x holds groups g0..g0+gp of each image (a
  gp: u32,       // part of a channel concatenation the norm reads in place; 0 and groups otherwise)
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
// binding 6: the texel output `dst` (put_dst), declared by src/tensor/ops/texel_out.ts
@group(0) @binding(7) var<uniform> p: Params;
// binding 8: the texel output `raw` (put_raw), likewise

fn act(v: vec4<f32>) -> vec4<f32> {
  if (SILU != 0u) { return v / (1.0 + exp(-v)); }
  return v;
}

fn texel_at(b: u32, iy: u32, ix: u32, c4: u32) -> u32 {
  return ((b * p.Hp + iy + p.pad) * p.Wp + ix + p.pad) * p.C4 + c4;
}

// The input's own texel (channels 4·c4.. of pixel (iy, ix)) in the unpadded NHWC4 layout.
fn store_raw(b: u32, iy: u32, ix: u32, c4: u32, v: vec4<f32>) {
  if (RAW != 0u) { put_raw(((b * p.H + iy) * p.W + ix) * p.C4 + c4, v); }
}

// The zero border of texel column c4 of image b (rows above and below, columns left and right).
fn zero_border(b: u32, c4: u32) {
  for (var py = 0u; py < p.Hp; py++) {
    let row = ((b * p.Hp + py) * p.Wp) * p.C4 + c4;
    if (py < p.pad || py >= p.pad + p.H) {
      for (var px = 0u; px < p.Wp; px++) { put_dst(row + px * p.C4, vec4<f32>(0.0)); }
    } else {
      for (var px = 0u; px < p.pad; px++) { put_dst(row + px * p.C4, vec4<f32>(0.0)); }
      for (var px = p.pad + p.W; px < p.Wp; px++) { put_dst(row + px * p.C4, vec4<f32>(0.0)); }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.x + gid.y * nwg.x * WG;   // item of x: G consecutive groups of one image
  if (w >= p.bg) { return; }
  let s4 = p.s4;
  let S = p.S;
  let n4 = p.cpg * S / 4u;   // vec4s a group: cpg·S % 4 == 0
  let base = w * G * n4;
  let ipi = p.gp / G;        // items per image of x
  let b = w / ipi;
  let g = p.g0 + (w % ipi) * G;
  let gw = b * p.groups + g;  // the first group in the whole (concatenated) tensor: out, mean, rstd
  let obase = gw * n4;
  var stats: array<vec2<f32>, 4>;
  for (var j = 0u; j < G; j++) {
    stats[j] = group_stats(base + j * n4, n4, p.eps);   // norm_stats_vec4.wgsl
    mean[gw + j] = stats[j].x;
    rstd[gw + j] = stats[j].y;
  }
  let c0 = g * p.cpg;
  for (var t = 0u; t < G * p.cpg / 4u; t++) {
    let ch = c0 + 4u * t;
    // channel ch + e belongs to group (4t + e) / cpg of the item
    var a = vec4<f32>(0.0);
    var sh = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e++) {
      let st = stats[(4u * t + e) / p.cpg];
      a[e] = st.y;
      sh[e] = -st.x * st.y;
    }
    if (HAS_GAMMA != 0u) { let gm = vec4<f32>(gamma[ch], gamma[ch + 1u], gamma[ch + 2u], gamma[ch + 3u]); a *= gm; sh *= gm; }
    if (HAS_BETA != 0u) { sh += vec4<f32>(beta[ch], beta[ch + 1u], beta[ch + 2u], beta[ch + 3u]); }
    let c4 = ch / 4u;
    if (4u * s4 != S) {
      // unaligned planes: element e of the group's channel ch is x[e / 4][e % 4]
      let e0 = 4u * base + 4u * t * S;
      let o0 = 4u * obase + 4u * t * S;
      var jy = 0u;
      var jx = 0u;
      for (var k = 0u; k < S; k++) {
        let e = e0 + k;
        let e1 = e + S;
        let e2 = e1 + S;
        let e3 = e2 + S;
        let xv = vec4<f32>(x[e >> 2u][e & 3u], x[e1 >> 2u][e1 & 3u], x[e2 >> 2u][e2 & 3u], x[e3 >> 2u][e3 & 3u]);
        let v = act(xv * a + sh);
        if (WRITE_OUT != 0u) {
          let f = o0 + k;
          out[f >> 2u][f & 3u] = v.x;
          out[(f + S) >> 2u][(f + S) & 3u] = v.y;
          out[(f + 2u * S) >> 2u][(f + 2u * S) & 3u] = v.z;
          out[(f + 3u * S) >> 2u][(f + 3u * S) & 3u] = v.w;
        }
        put_dst(texel_at(b, jy, jx, c4), v);
        store_raw(b, jy, jx, c4, xv);
        jx++; if (jx == p.W) { jx = 0u; jy++; }
      }
      zero_border(b, c4);
      continue;
    }
    let b0 = base + 4u * t * s4;   // vec4 index of channel ch's first 4 pixels
    let ob0 = obase + 4u * t * s4;
    var iy = 0u;
    var ix = 0u;
    for (var k = 0u; k < s4; k++) {
      let x0 = x[b0 + k];
      let x1 = x[b0 + s4 + k];
      let x2 = x[b0 + 2u * s4 + k];
      let x3 = x[b0 + 3u * s4 + k];
      let y0 = act(x0 * a.x + sh.x);
      let y1 = act(x1 * a.y + sh.y);
      let y2 = act(x2 * a.z + sh.z);
      let y3 = act(x3 * a.w + sh.w);
      if (WRITE_OUT != 0u) {
        out[ob0 + k] = y0;
        out[ob0 + s4 + k] = y1;
        out[ob0 + 2u * s4 + k] = y2;
        out[ob0 + 3u * s4 + k] = y3;
      }
      // pixels 4k..4k+3 (they may wrap onto the next row)
      put_dst(texel_at(b, iy, ix, c4), vec4<f32>(y0.x, y1.x, y2.x, y3.x));
      store_raw(b, iy, ix, c4, vec4<f32>(x0.x, x1.x, x2.x, x3.x));
      ix++; if (ix == p.W) { ix = 0u; iy++; }
      put_dst(texel_at(b, iy, ix, c4), vec4<f32>(y0.y, y1.y, y2.y, y3.y));
      store_raw(b, iy, ix, c4, vec4<f32>(x0.y, x1.y, x2.y, x3.y));
      ix++; if (ix == p.W) { ix = 0u; iy++; }
      put_dst(texel_at(b, iy, ix, c4), vec4<f32>(y0.z, y1.z, y2.z, y3.z));
      store_raw(b, iy, ix, c4, vec4<f32>(x0.z, x1.z, x2.z, x3.z));
      ix++; if (ix == p.W) { ix = 0u; iy++; }
      put_dst(texel_at(b, iy, ix, c4), vec4<f32>(y0.w, y1.w, y2.w, y3.w));
      store_raw(b, iy, ix, c4, vec4<f32>(x0.w, x1.w, x2.w, x3.w));
      ix++; if (ix == p.W) { ix = 0u; iy++; }
    }
    zero_border(b, c4);
  }
}
