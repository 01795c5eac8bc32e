// WGSL files are imported as their source text (esbuild `text` loader, vitest plugin in vitest.config.ts).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
