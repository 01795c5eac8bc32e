// The same-shape elementwise kernels over vec4s, for tensors whose sizes are multiples of 4 (the op
// tables: elementwise_ops.wgsl, prepended by elementwise.ts). On lavapipe every storage access
// with a per-lane address is a per-lane loop, so a vec4 moves four elements for the price of one.
// n: vec4 count.

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn unary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  out[i] = vec4<f32>(unary_op(x.x), unary_op(x.y), unary_op(x.z), unary_op(x.w));
}

@compute @workgroup_size(WG)
fn binary_same4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  let x = a[i];
  let y = b[i];
  out[i] = vec4<f32>(binary_op(x.x, y.x), binary_op(x.y, y.y), binary_op(x.z, y.z), binary_op(x.w, y.w));
}

// In place: out ← β·out + α·a. `b` is unused.
@compute @workgroup_size(WG)
fn accumulate4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = p.beta * out[i] + p.alpha * a[i];
}
