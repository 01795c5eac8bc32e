// Where packing passes put the rgba32float texels the texture GEMMs read. A packing shader writes
// through `put_NAME(t, v)` (texel t of the 4096-wide scratch layout) and leaves the declaration of
// NAME to this module: a write-only storage texture, or — on CPU adapters — a staging storage
// buffer that one copyBufferToTexture lands in the texture after the pass. On lavapipe every
// textureStore is a call into the image code, several times the cost of a buffer store (a B64
// 28×28·32 NHWC4 pack: ~7 ms stores alone to the texture, ~2 ms to a buffer), while the copy runs
// at memcpy speed (7.4 MB in ~0.3 ms). GPUs store to textures directly.
import type { Device } from '../../gpu/device.js';

/** Whether a packing pass of `bytes` stages its texels: on CPU adapters unless the policy's texStaging forces it either way. */
export function stagesTexels(d: Device, bytes: number): boolean {
  const mode = d.policy.texStaging;
  if (mode === 'never') return false;
  const fits = bytes <= Math.min(d.limits.maxStorageBufferBindingSize, d.limits.maxBufferSize);
  return fits && (mode === 'always' || d.caps.cpu);
}

/** WGSL declaring texel output `name` at `binding` and its `put_<name>(t, v)`; LOG_TW comes from the shader. */
function declare(name: string, binding: number, staged: boolean): string {
  return staged
    ? `@group(0) @binding(${binding}) var<storage, read_write> ${name}: array<vec4<f32>>;\n` +
        `fn put_${name}(t: u32, v: vec4<f32>) { ${name}[t] = v; }\n`
    : `@group(0) @binding(${binding}) var ${name}: texture_storage_2d<rgba32float, write>;\n` +
        `fn put_${name}(t: u32, v: vec4<f32>) { textureStore(${name}, vec2<u32>(t & ((1u << LOG_TW) - 1u), t >> LOG_TW), v); }\n`;
}

// built once per file and mode: packing passes call this on every dispatch
const completed = new Map<string, { file: string; source: string }>();

/** A packing shader completed with its texel outputs' declarations (staged or not), as a kernel source. */
export function withTexelOutputs(file: string, source: string, outputs: Record<string, number>, staged: boolean): { file: string; source: string } {
  const key = `${file}|${staged}|${JSON.stringify(outputs)}`;
  let k = completed.get(key);
  if (!k) {
    const decls = Object.entries(outputs).map(([name, binding]) => declare(name, binding, staged)).join('');
    k = { file: staged ? file.replace(/\.wgsl$/, '+staged.wgsl') : file, source: `${decls}\n${source}` };
    completed.set(key, k);
  }
  return k;
}
