// The element-wise op tables shared by shaders/elementwise.wgsl (f32 bindings) and
// elementwise_vec4.wgsl (vec4 bindings): src/tensor/ops/elementwise.ts prepends this file to each.
// The op is an override constant, so each op is its own specialised pipeline.

override WG: u32 = 256;
override OP: u32 = 0;

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,
  beta: f32,
  // out shape and the input strides (0 where an input broadcasts), innermost last; rank <= 8
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(3) var<uniform> p: Params;

fn dim(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn softplus(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }

fn unary_op(x: f32) -> f32 {
  switch OP {
    case 0u: { return -x; }
    case 1u: { return exp(x); }
    case 2u: { return log(x); }
    case 3u: { return sqrt(x); }
    case 4u: { return inverseSqrt(x); }
    case 5u: { return x * x; }
    case 6u: { return abs(x); }
    case 7u: { return sin(x); }
    case 8u: { return cos(x); }
    case 9u: { return tanh(x); }
    case 10u: { return sigmoid(x); }
    case 11u: { return x * sigmoid(x); }                         // silu
    case 12u: { return softplus(x); }
    case 13u: { return max(x, 0.0); }                            // relu
    case 14u: { let s = sigmoid(x); return s * (1.0 + x * (1.0 - s)); } // silu'
    case 15u: { return p.alpha * x + p.beta; }                   // affine (scalar add/mul)
    case 16u: { return pow(x, p.alpha); }                        // x^alpha (x >= 0 or integer alpha)
    case 17u: { return clamp(x, p.alpha, p.beta); }
    case 18u: { return select(0.0, 1.0, x > p.alpha); }          // step(x > alpha)
    case 19u: { return sign(x); }
    case 20u: { return 1.0 / x; }
    case 21u: { let s = sigmoid(x); return s * (1.0 - s); }      // sigmoid'
    case 22u: { let e = exp(-2.0 * abs(x)); return 4.0 * e / ((1.0 + e) * (1.0 + e)); } // tanh' = sech², no cancellation
    case 23u: { return p.alpha; }                                // fill
    case 24u: { return select(x, 0.0, x != x); }                 // nan -> 0
    case 25u: { return floor(x); }
    default: { return x; }
  }
}

fn binary_op(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return max(x, y); }
    case 5u: { return min(x, y); }
    case 6u: { return pow(x, y); }
    case 7u: { return select(0.0, 1.0, x > y); }
    case 8u: { return p.alpha * x + p.beta * y; }               // axpby
    case 9u: { return x * y * p.alpha; }
    case 10u: { return x; }                                      // left: broadcast a to the out shape
    default: { return x; }
  }
}

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }
