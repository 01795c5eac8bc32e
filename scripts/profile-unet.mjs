#!/usr/bin/env node
// Where the reference U-Net's time goes: per-dispatch GPU times (timestamp queries, one pass per
// dispatch) grouped by op, kernel, output shape and layer. src/bench/profile.ts does the work; this
// bundles it with esbuild (WGSL inlined, source maps on so call stacks name src/ files) and runs it.
//   node scripts/profile-unet.mjs [--batch 8] [--train] [--reps 3] [--wall] [--json out.json] [--top 40]
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.XDG_RUNTIME_DIR ??= '/tmp';
process.setSourceMapsEnabled(true);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const flag = (name) => args.includes(`--${name}`);

const out = join(root, 'dist/profile/profile.mjs'); // inside the repo so node_modules resolve
await esbuild.build({
  stdin: {
    contents: `export { createDevice } from './src/gpu/device.ts'; export * from './src/bench/profile.ts';`,
    resolveDir: root, sourcefile: 'profile-entry.ts', loader: 'ts',
  },
  bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external',
  loader: { '.wgsl': 'text' }, sourcemap: 'inline', outfile: out, absWorkingDir: root, logLevel: 'warning',
});
const m = await import(pathToFileURL(out).href);
const device = await m.createDevice();
const p = await m.profileUNet(device, {
  batch: Number(opt('batch', 8)), train: flag('train'), reps: Number(opt('reps', 3)), wall: flag('wall'),
  preset: opt('preset', 'reference'),
});
console.log(m.formatProfile(p, Number(opt('top', 40))));
const json = opt('json', null);
if (json) writeFileSync(json, JSON.stringify(p, null, 1));
device.destroy();
