// Bundles the engine with esbuild: WGSL files are inlined as text.
//   node build.mjs            → dist/node/cli.js (the `scoregpu` command) and dist/node/index.js
//   node build.mjs --browser  → also dist/browser/scoregpu.js and the example pages in dist/examples/
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const browser = process.argv.includes('--browser');
const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning' };

await esbuild.build({
  ...common,
  entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
  outdir: 'dist/node',
  platform: 'node',
  target: 'node20',
  packages: 'external',
});

if (browser) {
  await esbuild.build({
    ...common,
    entryPoints: { scoregpu: 'src/index.ts' },
    outdir: 'dist/browser',
    platform: 'browser',
    target: 'es2022',
    external: ['webgpu', 'node:*'],
  });
  // Each folder in examples/browser/ is a page: index.html + main.ts bundled beside it.
  const root = 'examples/browser';
  if (existsSync(root)) {
    for (const page of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const src = join(root, page.name);
      const out = join('dist/examples', page.name);
      mkdirSync(out, { recursive: true });
      for (const f of readdirSync(src)) if (!f.endsWith('.ts')) cpSync(join(src, f), join(out, f));
      if (existsSync(join(src, 'main.ts'))) {
        await esbuild.build({ ...common, entryPoints: [join(src, 'main.ts')], outfile: join(out, 'main.js'), platform: 'browser', target: 'es2022', external: ['webgpu', 'node:*'] });
      }
    }
  }
}
