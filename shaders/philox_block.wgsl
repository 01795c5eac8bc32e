// The start of main in every kernel that draws its own Philox noise: one invocation per Philox block
// g, elements 4g..4g+3 of p.n, on grid1d's 1-D or 2-D grid of WG-wide workgroups (the block index is
// the draw's counter word, so it must match randn's). Spliced in at the kernel's `//! splice` line by
// random.ts (wgsl_parts.ts).
  let g = gid.x + gid.y * nwg.x * WG;
  let base = g * 4u;
  if (base >= p.n) { return; }
