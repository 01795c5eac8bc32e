// Float64 reference for the fused Langevin update (shaders/langevin.wgsl), given the kernel's z.

/** x + step·s + noiseScale·z, elementwise. */
export function langevinRef(x: ArrayLike<number>, s: ArrayLike<number>, z: ArrayLike<number>, step: number, noiseScale: number): Float64Array {
  const o = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) o[i] = x[i] + step * s[i] + noiseScale * z[i];
  return o;
}

/** Plain Langevin: x + (α/2)·s + √α·z. */
export function langevinUpdateRef(x: ArrayLike<number>, s: ArrayLike<number>, z: ArrayLike<number>, alpha: number): Float64Array {
  return langevinRef(x, s, z, alpha / 2, Math.sqrt(alpha));
}
