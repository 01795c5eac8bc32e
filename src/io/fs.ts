// Node-only file helpers (node:fs). Everything else in src/io is pure and browser-safe.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeNpy, encodeNpy, type Npy, type NpyArray } from './npy.js';
import { decodeSafetensors, encodeSafetensors, type StFile, type StInput } from './safetensors.js';
import { FileError } from '../gpu/errors.js';

/** mkdir -p. */
export function mkdirp(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** mkdir -p of the directory that will hold `path`. */
export function ensureParentDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
}

let tmpCounter = 0;

/**
 * Write `bytes` to `path` so that readers see either the old file or the whole new one, never a
 * partial one: write a temp file in the same directory, fsync it, rename it over `path`, fsync the
 * directory. The temp file is removed if anything fails. Creates the parent directory.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename already happened.
  }
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new FileError(path, `no such ${what} file`);
    throw new FileError(path, `cannot read ${what} file (${err.message})`);
  }
}

/** Read a .npy file; errors name the file. */
export function readNpy(path: string): Npy {
  return decodeNpy(readBytes(path, '.npy'), path);
}

/** Write a .npy file atomically. */
export function writeNpy(path: string, data: NpyArray, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpy(data, shape));
}

/** Read a .safetensors file; errors name the file. */
export function readSafetensors(path: string): StFile {
  return decodeSafetensors(readBytes(path, '.safetensors'), path);
}

/** Write a .safetensors file atomically. */
export function writeSafetensors(path: string, tensors: Record<string, StInput>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export { readBytes as readFileBytes };
