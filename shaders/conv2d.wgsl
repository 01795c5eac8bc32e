// 2-D convolution, NCHW, as a register-blocked direct convolution ("row conv"): each invocation
// computes 4·TC4 output channels × TP consecutive output pixels of one row. For every reduction
// channel r and kernel row ky it loads the input row segment those TP pixels touch once
// ((TP−1)·STRIDE + KW scalars) and reuses it for all KW taps; weights come pre-packed as
// [R, KH, KW, C4] so each tap's 4 output channels are one vec4 load. Per (r, ky) that is about
// SEG + KW·TC4 loads for KW·TP·4·TC4 FMAs.
//
// One kernel serves the forward pass and the gradient w.r.t. the input. Input positions are
// "virtual": v = o·STRIDE − pad + k, read from real index v / DIL when v % DIL == 0 (else 0).
//   forward:         STRIDE = s, DIL = 1, pad = p, weights packed [Cin, KH, KW, Cout4]
//   backward input:  STRIDE = 1, DIL = s, pad = KH−1−p, weights flipped, packed [Cout, KH, KW, Cin4]
// (the transposed convolution as a stride-1 convolution over the s-dilated gradient).
// `wgrad` computes the gradient w.r.t. the weights; `pack` rearranges the weights.

override KH: u32 = 3;
override KW: u32 = 3;
override STRIDE: u32 = 1;
override DIL: u32 = 1;
override TP: u32 = 4;   // output pixels per invocation along a row (≤ 8)
override TC4: u32 = 1;  // groups of 4 output channels per invocation (1 or 2)
override WG: u32 = 8;
override HAS_BIAS: bool = false;
override ACT: u32 = 0;  // 0 none, 1 silu

struct Params {
  B: u32,
  R: u32,      // reduction channels (input channels of this convolution)
  Hi: u32,
  Wi: u32,
  C: u32,      // output channels
  C4: u32,     // C rounded up to a multiple of 4 (packed weight row)
  Ho: u32,
  Wo: u32,
  pad: i32,
  tilesX: u32, // ceil(Wo / TP)
  flip: u32,   // pack: 1 = backward-input packing (swap channel roles, flip taps)
  n: u32,      // pack: element count of the packed weights
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;   // packed weights (row conv)
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> wraw: array<f32>;      // pack: original weights / wgrad: gy
@group(0) @binding(5) var<uniform> p: Params;

const SEG_MAX = 32u;

fn activate(v: f32) -> f32 {
  if (ACT == 1u) { return v / (1.0 + exp(-v)); }
  return v;
}

// Real index along one axis for virtual position v, or -1 when it falls in padding or between
// dilated samples.
fn real_index(v: i32, size: u32) -> i32 {
  if (v < 0) { return -1; }
  let u = u32(v);
  if (u % DIL != 0u) { return -1; }
  let q = u / DIL;
  return select(-1, i32(q), q < size);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = gid.x + gid.y * nwg.x * WG;
  let tilesX = p.tilesX;
  if (tile >= p.B * p.Ho * tilesX) { return; }
  let tx = tile % tilesX;
  let oy = (tile / tilesX) % p.Ho;
  let b = tile / (tilesX * p.Ho);
  let ox0 = tx * TP;
  let c0 = gid.z * 4u * TC4;
  let C4v = p.C4 / 4u;
  let SEG = (TP - 1u) * STRIDE + KW;

  var acc: array<vec4<f32>, 16>; // acc[px * TC4 + g]: pixel ox0+px, channels c0+4g..+3
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  var seg: array<f32, SEG_MAX>;

  let ux0 = i32(ox0 * STRIDE) - p.pad;
  for (var r = 0u; r < p.R; r++) {
    for (var ky = 0u; ky < KH; ky++) {
      let iy = real_index(i32(oy * STRIDE + ky) - p.pad, p.Hi);
      if (iy < 0) { continue; }
      let rowBase = ((b * p.R + r) * p.Hi + u32(iy)) * p.Wi;
      for (var j = 0u; j < SEG; j++) {
        let ix = real_index(ux0 + i32(j), p.Wi);
        seg[j] = select(0.0, x[rowBase + u32(max(ix, 0))], ix >= 0);
      }
      for (var kx = 0u; kx < KW; kx++) {
        let wb = ((r * KH + ky) * KW + kx) * C4v + c0 / 4u;
        for (var g = 0u; g < TC4; g++) {
          let wv = w[wb + min(g, C4v - 1u - c0 / 4u)];
          for (var px = 0u; px < TP; px++) {
            acc[px * TC4 + g] += seg[px * STRIDE + kx] * wv;
          }
        }
      }
    }
  }

  for (var g = 0u; g < TC4; g++) {
    for (var c = 0u; c < 4u; c++) {
      let co = c0 + 4u * g + c;
      if (co >= p.C) { break; }
      var bv = 0.0;
      if (HAS_BIAS) { bv = bias[co]; }
      let ob = ((b * p.C + co) * p.Ho + oy) * p.Wo;
      for (var px = 0u; px < TP; px++) {
        if (ox0 + px < p.Wo) { out[ob + ox0 + px] = activate(acc[px * TC4 + g][c] + bv); }
      }
    }
  }
}

// Gradient w.r.t. the weights: gw[co, ci, ky, kx] = Σ_{b,oy,ox} gy[b,co,oy,ox]·x[b,ci,oy·s−p+ky,ox·s−p+kx].
// One invocation: 4 output channels × one input channel × all KH·KW taps (≤ 16), reducing over
// batch and output pixels TP at a time with the same row-segment reuse as `main`.
// Here R = Cin, C = Cout, Hi/Wi = input size, Ho/Wo = gradient size; wraw holds gy.
@compute @workgroup_size(WG)
fn wgrad(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ci = gid.x;
  let co0 = gid.y * 4u;
  if (ci >= p.R) { return; }
  let SEG = (TP - 1u) * STRIDE + KW;
  var acc: array<vec4<f32>, 16>; // acc[ky * KW + kx]: channels co0..co0+3
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  var seg: array<f32, SEG_MAX>;
  var gv: array<vec4<f32>, 8>;
  let cmax = p.C - 1u;
  for (var b = 0u; b < p.B; b++) {
    for (var oy = 0u; oy < p.Ho; oy++) {
      for (var ox0 = 0u; ox0 < p.Wo; ox0 += TP) {
        // gy for 4 channels × TP pixels (zero past the row end or the last channel)
        for (var px = 0u; px < TP; px++) {
          let ox = min(ox0 + px, p.Wo - 1u);
          let ok = ox0 + px < p.Wo;
          var v: vec4<f32>;
          for (var c = 0u; c < 4u; c++) {
            let co = co0 + c;
            v[c] = select(0.0, wraw[((b * p.C + min(co, cmax)) * p.Ho + oy) * p.Wo + ox], ok && co < p.C);
          }
          gv[px] = v;
        }
        let ux0 = i32(ox0 * STRIDE) - p.pad;
        for (var ky = 0u; ky < KH; ky++) {
          let iy = i32(oy * STRIDE + ky) - p.pad;
          if (iy < 0 || iy >= i32(p.Hi)) { continue; }
          let rowBase = ((b * p.R + ci) * p.Hi + u32(iy)) * p.Wi;
          for (var j = 0u; j < SEG; j++) {
            let ix = ux0 + i32(j);
            let ok = ix >= 0 && ix < i32(p.Wi);
            seg[j] = select(0.0, x[rowBase + u32(clamp(ix, 0, i32(p.Wi) - 1))], ok);
          }
          for (var kx = 0u; kx < KW; kx++) {
            var s = acc[ky * KW + kx];
            for (var px = 0u; px < TP; px++) { s += seg[px * STRIDE + kx] * gv[px]; }
            acc[ky * KW + kx] = s;
          }
        }
      }
    }
  }
  for (var c = 0u; c < 4u; c++) {
    let co = co0 + c;
    if (co >= p.C) { break; }
    for (var t = 0u; t < KH * KW; t++) {
      out[(co * p.R + ci) * KH * KW + t] = acc[t][c];
    }
  }
}

// Pack weights [Cout, Cin, KH, KW] (wraw) into out [R, KH, KW, C4] for `main`:
// forward (flip = 0): R = Cin, C = Cout; backward input (flip = 1): R = Cout, C = Cin, taps flipped.
// Padding channels (C..C4) are written as zeros. Here p.R / p.C are the packed roles.
@compute @workgroup_size(64)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let c = i % p.C4;
  let kx = (i / p.C4) % KW;
  let ky = (i / (p.C4 * KW)) % KH;
  let r = i / (p.C4 * KW * KH);
  if (c >= p.C) { out[i] = 0.0; return; }
  var src: u32;
  if (p.flip == 0u) {
    src = ((c * p.R + r) * KH + ky) * KW + kx;                                   // w[co=c, ci=r, ky, kx]
  } else {
    src = ((r * p.C + c) * KH + (KH - 1u - ky)) * KW + (KW - 1u - kx);           // w[co=r, ci=c, flipped]
  }
  out[i] = wraw[src];
}
