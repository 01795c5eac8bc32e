// Small and skinny matmuls (shaders/matmul.wgsl is the general kernel; read its header first).
// On CPU adapters every storage load whose address differs per lane is a per-lane loop, while a
// load whose address is the same for all lanes (dynamically uniform) is one scalar load. These
// kernels give each lane the operand that is large and let the small operand be read uniformly.
//
// `rows` — C' = X'·Y' with C' [R, J], J ≤ 8 (the output is narrow), reduction over K:
//   each lane owns 4 consecutive rows i of C' and all J columns in registers; it reads X' as vec4
//   (along K when X' is stored [R, K], along R when stored [K, R]) and Y' [K, J] uniformly.
//   Narrow N:  X' = op(A), Y' = op(B), C' = C.
//   Small M:   X' = op(B)ᵀ, Y' = op(A)ᵀ, C' = Cᵀ (stored transposed: OUT_T).
//   A long reduction (weight gradients: K = batch) is split over SPLIT workgroups along y; each
//   writes a partial C' and the `reduce` entry sums them and applies the epilogue.
// `outer` — C = op(A)·op(B) with K ≤ 8: each lane keeps a K×4 strip of B in registers and walks
//   TMO rows of C, reading A's rows uniformly and writing 4 outputs per row.

override WG: u32 = 8;            // invocations per workgroup (along i / n)
override X_KCONTIG: bool = true; // rows: X' stored [R, K] (else [K, R])
override Y_KJ: bool = true;      // rows: Y' stored [K, J] (else [J, K])
override XVEC: bool = true;      // rows: X' read through xv (vec4; K (or R) and offsets multiples of 4)
override JMAX: u32 = 8;          // rows: 4 or 8, ≥ J
override OUT_T: bool = false;    // rows/reduce: C' is Cᵀ: write out[j, i]; bias indexed by i
override SPLIT: bool = false;    // rows: write partial sums (no epilogue) for `reduce`
override TRANS_A: bool = false;  // outer: A stored [K, M]
override TRANS_B: bool = false;  // outer: B stored [N, K]
override TMO: u32 = 16;          // outer: rows of C per invocation
override HAS_BIAS: bool = false;
override ACT: u32 = 0;           // 0 none, 1 silu, 2 relu

struct Params {
  R: u32,   // rows of C' (outer: M)
  J: u32,   // columns of C' (outer: N)
  K: u32,
  kc: u32,  // rows: K range per split (multiple of 4); reduce: number of splits
  sx: u32,  // per-batch element offsets of X', Y' (0 when broadcast), C
  sy: u32,
  so: u32,
  nz: u32,  // batch count (partial-sum layout)
}

@group(0) @binding(0) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> xs: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn activate(x: f32) -> f32 {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return max(x, 0.0); }
    default: { return x; }
  }
}

// Y'[k, j0..j0+3] of the batch at yoff (uniform across lanes); zero past J or at k ≥ kend.
fn yrow(yoff: u32, k: u32, j0: u32, kend: u32) -> vec4<f32> {
  let J = p.J;
  let K = p.K;
  let kc = min(k, K - 1u);
  var v: vec4<f32>;
  for (var c = 0u; c < 4u; c++) {
    let j = j0 + c;
    let jc = min(j, J - 1u);
    var idx: u32;
    if (Y_KJ) { idx = kc * J + jc; } else { idx = jc * K + kc; }
    v[c] = select(0.0, ys[yoff + idx], j < J && k < kend);
  }
  return v;
}

// f[r] = X'[i0 + r, k0..k0+3] (zero at k ≥ kend; rows past R are clamped, their results dropped).
fn xfrag(xoff: u32, i0: u32, k0: u32, kend: u32) -> mat4x4<f32> {
  let R = p.R;
  let K = p.K;
  var f: mat4x4<f32>;
  if (XVEC) {
    if (X_KCONTIG) {
      // K % 4 == 0 and kend is a multiple of 4: the vec4 is all in or all out.
      let ok = k0 < kend;
      let kc = min(k0, K - 4u);
      for (var r = 0u; r < 4u; r++) {
        let i = min(i0 + r, R - 1u);
        f[r] = select(vec4<f32>(0.0), xv[(xoff + i * K + kc) / 4u], ok);
      }
    } else {
      // R % 4 == 0: load 4 rows of the stored [K, R] (each a vec4 along i) and transpose.
      var g: mat4x4<f32>;
      let ic = min(i0, R - 4u);
      for (var kk = 0u; kk < 4u; kk++) {
        let k = k0 + kk;
        g[kk] = select(vec4<f32>(0.0), xv[(xoff + min(k, K - 1u) * R + ic) / 4u], k < kend);
      }
      f = transpose(g);
    }
  } else {
    for (var r = 0u; r < 4u; r++) {
      let i = min(i0 + r, R - 1u);
      for (var kk = 0u; kk < 4u; kk++) {
        let k = k0 + kk;
        let kc = min(k, K - 1u);
        var idx: u32;
        if (X_KCONTIG) { idx = i * K + kc; } else { idx = kc * R + i; }
        f[r][kk] = select(0.0, xs[xoff + idx], k < kend);
      }
    }
  }
  return f;
}

fn store(z: u32, i: u32, j: u32, v: f32) {
  var x = v;
  if (HAS_BIAS) {
    if (OUT_T) { x += bias[i]; } else { x += bias[j]; }
  }
  if (OUT_T) { out[z * p.so + j * p.R + i] = activate(x); } else { out[z * p.so + i * p.J + j] = activate(x); }
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let R = p.R;
  let J = p.J;
  let K = p.K;
  let i0 = (wg.x * WG + lid.x) * 4u;
  let z = wg.z;
  let s = wg.y;
  let xoff = z * p.sx;
  let yoff = z * p.sy;
  let kbeg = s * p.kc;
  let kend = min(K, kbeg + p.kc);

  // acc[2r] = C'[i0+r, 0..3], acc[2r+1] = C'[i0+r, 4..7]
  var acc: array<vec4<f32>, 8>;
  for (var t = 0u; t < 8u; t++) { acc[t] = vec4<f32>(0.0); }
  for (var k0 = kbeg; k0 < kend; k0 += 4u) {
    let f = xfrag(xoff, i0, k0, kend);
    for (var kk = 0u; kk < 4u; kk++) {
      let y0 = yrow(yoff, k0 + kk, 0u, kend);
      for (var r = 0u; r < 4u; r++) { acc[2u * r] += f[r][kk] * y0; }
      if (JMAX > 4u) {
        let y1 = yrow(yoff, k0 + kk, 4u, kend);
        for (var r = 0u; r < 4u; r++) { acc[2u * r + 1u] += f[r][kk] * y1; }
      }
    }
  }

  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= R) { break; }
    for (var j = 0u; j < JMAX; j++) {
      if (j >= J) { break; }
      let v = acc[2u * r + j / 4u][j % 4u];
      if (SPLIT) {
        out[((s * p.nz + z) * R + i) * J + j] = v;
      } else {
        store(z, i, j, v);
      }
    }
  }
}

// Sum the p.kc partial C' blocks (read through ys) and apply the epilogue: one output per lane.
@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let R = p.R;
  let J = p.J;
  let per = R * J;
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= per * p.nz) { return; }
  let z = t / per;
  let e = t - z * per;
  let i = e / J;
  let j = e - i * J;
  let stride = p.nz * per;
  var v = 0.0;
  for (var s = 0u; s < p.kc; s++) { v += ys[s * stride + t]; }
  store(z, i, j, v);
}

// C[m0..m0+TMO, n0..n0+3] for K ≤ 8: A read through ys, B through xs.
@compute @workgroup_size(WG)
fn outer(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p.R;
  let N = p.J;
  let K = p.K;
  let n0 = (wg.x * WG + lid.x) * 4u;
  let m0 = wg.y * TMO;
  let z = wg.z;
  let aoff = z * p.sy;
  let boff = z * p.sx;
  // bf[k] = B[k, n0..n0+3], zero past N (columns past N are not stored).
  var bf: array<vec4<f32>, 8>;
  for (var k = 0u; k < 8u; k++) {
    for (var c = 0u; c < 4u; c++) {
      let n = min(n0 + c, N - 1u);
      let kc = min(k, K - 1u);
      var idx: u32;
      if (TRANS_B) { idx = n * K + kc; } else { idx = kc * N + n; }
      bf[k][c] = select(0.0, xs[boff + idx], k < K);
    }
    if (k + 1u >= K) { break; }
  }
  var bv = vec4<f32>(0.0);
  if (HAS_BIAS) {
    for (var c = 0u; c < 4u; c++) { bv[c] = bias[min(n0 + c, N - 1u)]; }
  }
  let mend = min(M, m0 + TMO);
  for (var m = m0; m < mend; m++) {
    var acc = bv;
    for (var k = 0u; k < K; k++) {
      var idx: u32;
      if (TRANS_A) { idx = k * M + m; } else { idx = m * K + k; }
      acc += ys[aoff + idx] * bf[k];
    }
    let o = z * p.so + m * N + n0;
    for (var c = 0u; c < 4u; c++) {
      if (n0 + c < N) {
        var x = acc[c];
        out[o + c] = activate(x);
      }
    }
  }
}
