// The first members of `p` in every kernel that draws its own Philox noise (rng.wgsl's fill kernel,
// langevin.wgsl, affine_update.wgsl, inpaint_project.wgsl): the element count and the key. With the
// kernel's `clock` binding (the step words) a draw is a pure function of (seed, stream, offset,
// clock step, element). Spliced in at the kernel's `//! splice` line by random.ts (wgsl_parts.ts).
  n: u32,
  seed: u32,
  stream: u32,
  offset: u32,
