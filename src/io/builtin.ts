// Reaching Node built-ins from files that must also bundle for the browser: no static `node:`
// import (a browser bundle would fail on it); `process.getBuiltinModule` (Node ≥ 20.16) returns the
// module synchronously in Node and is absent in browsers, where callers fall back or explain.

import type * as Zlib from 'node:zlib';
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as Url from 'node:url';

interface Builtins {
  'node:zlib': typeof Zlib;
  'node:fs': typeof Fs;
  'node:path': typeof Path;
  'node:url': typeof Url;
}

export function nodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const m = p?.getBuiltinModule?.(id);
  return (m ?? undefined) as Builtins[K] | undefined;
}

/** gunzip with node:zlib when available; in a browser use DecompressionStream('gzip') and pass raw bytes. */
export function gunzipSync(bytes: Uint8Array, what = 'data', maxOutputLength?: number): Uint8Array {
  const z = nodeBuiltin('node:zlib');
  if (!z) {
    throw new Error(
      `${what} is gzip-compressed and no synchronous gunzip is available here (not Node); ` +
        `decompress it first (e.g. with DecompressionStream('gzip')) and pass the raw bytes`,
    );
  }
  const b = z.gunzipSync(bytes, maxOutputLength ? { maxOutputLength } : {});
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
