// Bundles the engine with esbuild: WGSL files are inlined as text.
//   node build.mjs            → dist/node/cli.js (the `scoregpu` command), dist/node/index.js and
//                               dist/node/node.js (the Node-only surface: runs, files, data, metrics)
//   node build.mjs --browser  → also dist/browser/scoregpu.js and the example pages in dist/examples/,
//                               with the shipped models (models/NAME/ → dist/examples/models/NAME/ and
//                               a list of them in dist/examples/models/index.json) and a Fashion-MNIST
//                               subset (dist/examples/data/) for the image page
// The browser part is importable (test/browser builds with it): `await buildBrowser()`.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(fileURLToPath(import.meta.url));
const common = { bundle: true, format: 'esm', loader: { '.wgsl': 'text' }, sourcemap: true, logLevel: 'warning', absWorkingDir: ROOT };

// The engine reaches Node only behind runtime checks: `import('webgpu')` (src/gpu/device.ts, under
// Node only, through a variable so bundlers leave it alone) and process.getBuiltinModule
// (src/io/builtin.ts). Nothing else may pull a Node built-in into a browser bundle: this plugin
// fails the build naming the importer, instead of esbuild's silent external.
const noNodeInBrowser = {
  name: 'no-node-in-browser',
  setup(b) {
    b.onResolve({ filter: /^(node:|webgpu$)/ }, (a) => {
      if (a.kind === 'import-statement' || a.kind === 'require-call') {
        return { errors: [{ text: `'${a.path}' imported by ${a.importer}: Node-only modules cannot be in the browser bundle (reach them through src/io/builtin.ts)` }] };
      }
      return { path: a.path, external: true };
    });
  },
};

export async function buildNode() {
  await esbuild.build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts', node: 'src/node.ts' },
    outdir: 'dist/node',
    platform: 'node',
    target: 'node20',
    packages: 'external',
  });
}

const browserOpts = { ...common, platform: 'browser', target: 'es2022', plugins: [noNodeInBrowser] };

/**
 * The model folders under models/ (model.safetensors + config.json each) copied beside the pages,
 * and listed with what the page shows before loading one: the config, the file's size and the
 * training run's loss.csv if the folder keeps it.
 */
function copyModels(outRoot) {
  const src = join(ROOT, 'models');
  const out = join(outRoot, 'models');
  rmSync(out, { recursive: true, force: true });
  const list = [];
  if (existsSync(src)) {
    for (const d of readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const st = join(src, d.name, 'model.safetensors');
      if (!existsSync(st)) continue;
      mkdirSync(join(out, d.name), { recursive: true });
      for (const f of readdirSync(join(src, d.name))) cpSync(join(src, d.name, f), join(out, d.name, f));
      let config = null;
      try {
        config = JSON.parse(readFileSync(join(src, d.name, 'config.json'), 'utf8'));
      } catch {
        /* the page reads the config from the safetensors metadata */
      }
      const loss = existsSync(join(src, d.name, 'loss.csv')) ? `${d.name}/loss.csv` : undefined;
      list.push({ name: d.name, file: `${d.name}/model.safetensors`, bytes: statSync(st).size, config, loss });
    }
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'index.json'), JSON.stringify({ models: list }, null, 1) + '\n');
  return list.length;
}

/**
 * A Fashion-MNIST subset for training in the image page: the first `n` training images of Debian's
 * dataset-fashion-mnist as raw bytes (data/fashion-mnist-train.u8, [n, 1, 28, 28]) and their labels,
 * described by data/index.json. Without the data set the page says training is unavailable.
 */
const FMNIST = '/usr/share/datasets/fashion-mnist';
function copyTrainingSubset(outRoot, n = 6000) {
  const out = join(outRoot, 'data');
  rmSync(out, { recursive: true, force: true });
  const img = join(FMNIST, 'train-images-idx3-ubyte.gz'), lab = join(FMNIST, 'train-labels-idx1-ubyte.gz');
  if (!existsSync(img) || !existsSync(lab)) return 0;
  const images = gunzipSync(readFileSync(img)), labels = gunzipSync(readFileSync(lab));
  // IDX: magic 0x00000803, count, rows, cols (big-endian), then the pixels
  if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801) throw new Error(`${FMNIST}: not IDX image/label files`);
  const [h, w] = [images.readUInt32BE(8), images.readUInt32BE(12)];
  const count = Math.min(n, images.readUInt32BE(4));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'fashion-mnist-train.u8'), images.subarray(16, 16 + count * h * w));
  writeFileSync(join(out, 'fashion-mnist-train-labels.u8'), labels.subarray(8, 8 + count));
  writeFileSync(join(out, 'index.json'), JSON.stringify({ name: 'fashion-mnist', images: 'fashion-mnist-train.u8', labels: 'fashion-mnist-train-labels.u8', n: count, shape: [1, h, w] }) + '\n');
  return count;
}

/** The engine as one ES module (dist/browser/scoregpu.js) and every page under examples/browser/. */
export async function buildBrowser({ plugins = [], pages = true } = {}) {
  const opts = { ...browserOpts, plugins: [...plugins, ...browserOpts.plugins] };
  await esbuild.build({ ...opts, entryPoints: { scoregpu: 'src/index.ts' }, outdir: join(ROOT, 'dist/browser') });
  if (!pages) return [];
  // Each folder in examples/browser/ is a page: its non-TS files copied, main.ts bundled beside them.
  const root = join(ROOT, 'examples/browser');
  const built = [];
  if (!existsSync(root)) return built;
  const outRoot = join(ROOT, 'dist/examples');
  mkdirSync(outRoot, { recursive: true });
  // the index page linking the pages, and anything else beside the page folders
  for (const f of readdirSync(root, { withFileTypes: true })) if (f.isFile() && !f.name.endsWith('.ts')) cpSync(join(root, f.name), join(outRoot, f.name));
  copyModels(outRoot);
  copyTrainingSubset(outRoot);
  for (const page of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const src = join(root, page.name);
    const out = join(ROOT, 'dist/examples', page.name);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(src)) if (!f.endsWith('.ts')) cpSync(join(src, f), join(out, f), { recursive: true });
    if (existsSync(join(src, 'main.ts'))) {
      await esbuild.build({ ...opts, entryPoints: [join(src, 'main.ts')], outfile: join(out, 'main.js') });
    }
    built.push(page.name);
  }
  return built;
}

const isMain = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  await buildNode();
  if (process.argv.includes('--browser')) {
    const pages = await buildBrowser();
    console.log(`built dist/browser/scoregpu.js and ${pages.length} example page(s) in dist/examples/: ${pages.join(', ')}`);
  }
}
