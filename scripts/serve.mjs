// A plain static file server for the browser examples (dist/examples by default), localhost only.
//   node scripts/serve.mjs [dir]      port from $PORT, else 8080 (0 picks a free one)
// `serve(dir, port)` resolves to { server, port, url, close() } once listening (test/browser uses it).
import { createServer } from 'node:http';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.npy': 'application/octet-stream',
};

function send(res, code, text) {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}

export function serve(dir = 'dist/examples', port = 8080, host = '127.0.0.1') {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad request\n');
    }
    let file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'forbidden\n');
    if (existsSync(file) && statSync(file).isDirectory()) {
      if (!path.endsWith('/')) {
        res.writeHead(301, { Location: path + '/' });
        return res.end();
      }
      file = join(file, 'index.html');
      if (!existsSync(file)) return send(res, 200, listing(root, path));
    }
    if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, `not found: ${path}\n`);
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const p = server.address().port;
      ok({ server, port: p, url: `http://localhost:${p}/`, close: () => new Promise((c) => server.close(() => c())) });
    });
  });
}

// A directory without index.html (dist/examples/ itself): a list of its pages.
function listing(root, path) {
  return `examples:\n${subdirs(join(root, path)).map((n) => `  ${path}${n}/`).join('\n')}\n`;
}
function subdirs(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

const isMain = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const dir = process.argv[2] ?? 'dist/examples';
  if (!existsSync(dir)) {
    console.error(`serve: ${dir} does not exist; build it first: node build.mjs --browser`);
    process.exit(1);
  }
  const port = process.env.PORT !== undefined ? Number(process.env.PORT) : 8080;
  const s = await serve(dir, port);
  // the pages are the folders with an index.html (models/ holds the shipped models they load)
  const pages = subdirs(dir).filter((p) => existsSync(join(dir, p, 'index.html')));
  console.log(`scoregpu examples: serving ${resolve(dir)} at ${s.url}`);
  for (const p of pages) console.log(`  ${s.url}${p}/`);
  console.log('(needs a WebGPU browser: Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu on Linux; Ctrl-C stops)');
}
