// Elementwise kernels over f32 (the op tables: elementwise_ops.wgsl, prepended by elementwise.ts).
// Large tensors use a 2-D grid: index = x + y·(workgroups.x·WG).

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = unary_op(a[i]);
}

// Same shapes: no index arithmetic.
@compute @workgroup_size(WG)
fn binary_same(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = binary_op(a[i], b[i]);
}

@compute @workgroup_size(WG)
fn binary_bcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let s = dim(p.shape, k);
    let c = rem % s;
    rem = rem / s;
    ia += c * dim(p.sa, k);
    ib += c * dim(p.sb, k);
  }
  out[i] = binary_op(a[ia], b[ib]);
}

// In place: out ← β·out + α·a (loss accumulators, gradient accumulation). `b` is unused.
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.beta * out[i] + p.alpha * a[i];
}
