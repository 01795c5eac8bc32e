#!/usr/bin/env node
// The `scoregpu` command. Runs the esbuild bundle, rebuilding it first when any source is newer.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist/node/cli.js');
process.env.XDG_RUNTIME_DIR ??= '/tmp';

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const stale = !existsSync(bundle) || Math.max(newest(join(root, 'src')), newest(join(root, 'shaders'))) > statSync(bundle).mtimeMs;
if (stale) {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [join(root, 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('scoregpu: build failed (is esbuild installed? run `npm install`)');
    process.exit(1);
  }
}
const { main } = await import(pathToFileURL(bundle).href);
const code = await main(process.argv.slice(2));
process.exit(code ?? 0);
