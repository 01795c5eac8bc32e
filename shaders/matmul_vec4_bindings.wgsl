// The bindings of matmul.wgsl and matmul_subgroup.wgsl (A, B, bias, out as vec4 arrays, Params),
// spliced in by matmul.ts at their `//! splice` line (WGSL has no includes).
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;
