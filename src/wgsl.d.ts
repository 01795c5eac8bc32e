// WGSL files are imported as their source text (esbuild `text` loader, vitest plugin in vitest.config.ts).
declare module '*.wgsl' {
  const source: string;
  export default source;
}

// wgsl_reflect's ES module entry has no types of its own beside it.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export const WgslReflect: any;
  export const ResourceType: Record<'Uniform' | 'Storage' | 'Sampler' | 'Texture' | 'StorageTexture', number>;
}
