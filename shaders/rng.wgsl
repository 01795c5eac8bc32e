// Counter-based randomness: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11 "Parallel random
// numbers: as easy as 1, 2, 3"). Everything above the KERNELS marker is a function library with no
// bindings: shaders/langevin.wgsl (and any other kernel that draws noise) gets it appended by its
// op file, so every kernel maps (key, counter) to the same numbers.
//
// Key   = (seed, stream).
// Counter = (g, offset, step_lo, step_hi): g is the Philox block (4 outputs, elements 4g..4g+3),
//           offset separates draws under one key, step comes from the `clock` storage buffer so a
//           recorded step replays with new numbers without new bind groups.
// Bit-exact TypeScript twin: src/tensor/cpu/random.ts.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// (hi, lo) words of the 64-bit product a·b, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhilo32(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xFFFFu;
  let ah = a >> 16u;
  let bl = b & 0xFFFFu;
  let bh = b >> 16u;
  let ll = al * bl;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
  let hi = ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  return vec2<u32>(hi, a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let p0 = mulhilo32(PHILOX_M0, c.x);
  let p1 = mulhilo32(PHILOX_M1, c.z);
  return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// Philox4x32 with 10 rounds: counter c, key k -> four independent 32-bit words.
fn philox4x32_10(c0: vec4<u32>, k0: vec2<u32>) -> vec4<u32> {
  var c = c0;
  var k = k0;
  for (var r = 0u; r < 9u; r++) {
    c = philox_round(c, k);
    k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
  }
  return philox_round(c, k);
}

// Uniform on [0, 1): top 24 bits, exact in f32.
fn u01_open1(x: u32) -> f32 { return f32(x >> 8u) * 5.9604644775390625e-8; }
// Uniform on (0, 1]: safe for log.
fn u01_open0(x: u32) -> f32 { return f32((x >> 8u) + 1u) * 5.9604644775390625e-8; }

// Box–Muller on the pairs (w.x, w.y) and (w.z, w.w): four standard normals.
fn box_muller4(w: vec4<u32>) -> vec4<f32> {
  let r0 = sqrt(-2.0 * log(u01_open0(w.x)));
  let r1 = sqrt(-2.0 * log(u01_open0(w.z)));
  // angle in [-π, π): small arguments keep f32 sin/cos accurate
  let t0 = 6.283185307179586 * u01_open1(w.y) - 3.141592653589793;
  let t1 = 6.283185307179586 * u01_open1(w.w) - 3.141592653589793;
  return vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
}

// The Philox block for block index g under (seed, stream, offset) at the clock's step.
fn philox_block(g: u32, seed: u32, stream: u32, offset: u32, step_lo: u32, step_hi: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(g, offset, step_lo, step_hi), vec2<u32>(seed, stream));
}

// ---- KERNELS ----
// Fill kernels: one invocation per Philox block writes up to four elements. `out` holds u32 bits;
// the float kinds store bitcast<u32>(value), so a Tensor over the same buffer reads f32.

override WG: u32 = 64;
// 0 raw u32 bits · 1 uniform a + b·U[0,1) · 2 normal a + b·N(0,1) · 3 rademacher ±1 · 4 randint [0, high)
override KIND: u32 = 2;

struct Params {
  //! splice philox_key.wgsl: n, seed, stream, offset
  a: f32,
  b: f32,
  high: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> clock: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn transform(w: vec4<u32>) -> vec4<u32> {
  switch KIND {
    case 0u: { return w; }
    case 1u: {
      let u = vec4<f32>(u01_open1(w.x), u01_open1(w.y), u01_open1(w.z), u01_open1(w.w));
      return bitcast<vec4<u32>>(p.a + p.b * u);
    }
    case 2u: { return bitcast<vec4<u32>>(p.a + p.b * box_muller4(w)); }
    case 3u: {
      return bitcast<vec4<u32>>(select(vec4<f32>(-1.0), vec4<f32>(1.0), (w & vec4<u32>(0x80000000u)) != vec4<u32>(0u)));
    }
    default: {
      // floor(x·high / 2^32): exact integer arithmetic, bias ≤ high / 2^32
      let h = p.high;
      let v = vec4<u32>(mulhilo32(w.x, h).x, mulhilo32(w.y, h).x, mulhilo32(w.z, h).x, mulhilo32(w.w, h).x);
      return bitcast<vec4<u32>>(vec4<f32>(v));
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  //! splice philox_block.wgsl: g = this invocation's Philox block, base = 4g; past p.n returns
  let w = transform(philox_block(g, p.seed, p.stream, p.offset, clock[0], clock[1]));
  if (base + 3u < p.n) {
    out[base] = w.x;
    out[base + 1u] = w.y;
    out[base + 2u] = w.z;
    out[base + 3u] = w.w;
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (base + j < p.n) { out[base + j] = w[j]; }
    }
  }
}
