import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

// Same contract as build.mjs: a .wgsl import is the file's text.
const wgslText = {
  name: 'wgsl-text',
  enforce: 'pre' as const,
  load(id: string) {
    if (id.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    return null;
  },
};

export default defineConfig({
  plugins: [wgslText],
  test: {
    include: ['kernels-tests/**/*.test.ts', 'test/**/*.test.ts'],
    // One GPU device per worker; lavapipe already uses every core, so run files one after another.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
