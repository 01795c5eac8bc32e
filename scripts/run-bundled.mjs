// Shared by the profiling scripts: bundle src/ modules with esbuild (WGSL inlined as text) into
// dist/profile/ — inside the repo, so that node_modules resolve — import the bundle, and read
// `--name value` / `--flag` arguments.
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundle `export { createDevice } …; export * from` each of `modules` (paths under src/) and import it.
 * `device: false` leaves createDevice (and Dawn) out, for scripts that only need plain helpers.
 */
export async function importBundled(name, modules, { sourcemap = false, device = true } = {}) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  if (sourcemap) process.setSourceMapsEnabled(true);
  const out = join(root, `dist/profile/${name}.mjs`);
  await esbuild.build({
    stdin: {
      contents: [...(device ? [`export { createDevice } from './src/gpu/device.ts';`] : []), ...modules.map((m) => `export * from './${m}';`)].join(' '),
      resolveDir: root, sourcefile: `${name}-entry.ts`, loader: 'ts',
    },
    bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external',
    loader: { '.wgsl': 'text' }, sourcemap: sourcemap ? 'inline' : false, outfile: out, absWorkingDir: root, logLevel: 'warning',
  });
  return import(pathToFileURL(out).href);
}

/** `opt('batch', 8)`: the value after --batch, or the default; `flag('train')`: whether --train is there. */
export function cliArgs(args = process.argv.slice(2)) {
  return {
    opt: (name, dflt) => {
      const i = args.indexOf(`--${name}`);
      return i < 0 ? dflt : args[i + 1];
    },
    flag: (name) => args.includes(`--${name}`),
  };
}
