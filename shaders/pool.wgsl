// k×k block pooling over NCHW planes (kernel = stride = k) and nearest upsampling by k.
// `down`: out[nc, i, j] = scale · Σ_{a,b<k} x[nc, i·k+a, j·k+b]   (avgPool: scale 1/k²;
//          the upsample adjoint: scale 1). Rows of a block are contiguous: reads stay coalesced.
// `up`:   out[nc, h, w] = scale · x[nc, h/k, w/k]                (upsample: scale 1;
//          the avgPool adjoint: scale 1/k²).
// One thread per output element.

override WG: u32 = 256;

struct Params {
  n: u32,     // output elements
  h: u32,     // full-resolution plane
  w: u32,
  k: u32,
  scale: f32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn down(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) { return; }
  let k = p.k;
  let wo = p.w / k;
  let ho = p.h / k;
  let j = t % wo;
  let i = (t / wo) % ho;
  let nc = t / (wo * ho);
  var base = (nc * p.h + i * k) * p.w + j * k;
  var acc = 0.0;
  for (var a = 0u; a < k; a++) {
    for (var b = 0u; b < k; b++) { acc += x[base + b]; }
    base += p.w;
  }
  out[t] = acc * p.scale;
}

@compute @workgroup_size(WG)
fn up(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.n) { return; }
  let k = p.k;
  let w = t % p.w;
  let h = (t / p.w) % p.h;
  let nc = t / (p.w * p.h);
  out[t] = x[(nc * (p.h / k) + h / k) * (p.w / k) + w / k] * p.scale;
}
