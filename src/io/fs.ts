// File helpers. Every file scoregpu writes — checkpoints, samples (.npy, PNG), loss logs, configs,
// caches — goes through writeFileAtomic, so a kill, a crash or a full disk at any moment leaves
// either the previous file or the whole new one, never a torn one. Node's fs is reached through
// src/io/builtin.ts (no static `node:` import), so code that must also bundle for the browser
// (caches in src/bench and src/eval) can call these too; there they throw, and callers skip.

import { decodeNpy, encodeNpy, type Npy, type NpyArray } from './npy.js';
import { decodeSafetensors, encodeSafetensors, type StFile, type StInput } from './safetensors.js';
import { nodeBuiltin } from './builtin.js';
import { FileError } from '../gpu/errors.js';

function fs() {
  const m = nodeBuiltin('node:fs');
  if (!m) throw new Error('writing and reading files needs Node (node:fs is not available here)');
  return m;
}
function path() {
  return nodeBuiltin('node:path')!;
}

/** mkdir -p. */
export function mkdirp(dir: string): void {
  fs().mkdirSync(dir, { recursive: true });
}

/** The stages of an atomic write, in order (see AtomicWriteOptions.onStage). */
export type WriteStage = 'temp-written' | 'temp-synced' | 'renamed';

export interface AtomicWriteOptions {
  /**
   * Called after each stage with the final path. For tests that kill a writer: a hook that waits
   * here widens the window a kill lands in (between the temp file's data, its fsync and the rename).
   */
  onStage?: (stage: WriteStage, path: string) => void;
}

const TMP_MARK = '.tmp-';
let tmpCounter = 0;

/** The temp file name for `path`: hidden, in the same directory (rename is atomic only within one file system), tagged with our pid. */
function tempName(p: string): string {
  const { dirname, basename, join } = path();
  return join(dirname(p), `.${basename(p)}${TMP_MARK}${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);
}

/**
 * Write `bytes` to `path` so that readers see either the old file or the whole new one, never a
 * partial one: write a temp file in the same directory, fsync it, rename it over `path`, fsync the
 * directory (so the rename itself survives a power cut). The temp file is removed if anything
 * fails; one left by a killed writer is removed by removeStaleTemps. Creates the parent directory.
 */
export function writeFileAtomic(p: string, bytes: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  const f = fs();
  const dir = path().dirname(p);
  f.mkdirSync(dir, { recursive: true });
  const tmp = tempName(p);
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  let fd: number | null = null;
  try {
    fd = f.openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < data.length) off += f.writeSync(fd, data, off, data.length - off);
    opts.onStage?.('temp-written', p);
    f.fsyncSync(fd);
    f.closeSync(fd);
    fd = null;
    opts.onStage?.('temp-synced', p);
    f.renameSync(tmp, p);
  } catch (e) {
    if (fd !== null) {
      try {
        f.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    f.rmSync(tmp, { force: true });
    throw e;
  }
  opts.onStage?.('renamed', p);
  try {
    const dfd = f.openSync(dir, 'r');
    try {
      f.fsyncSync(dfd);
    } finally {
      f.closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename already happened.
  }
}

/**
 * Remove temp files that writers killed mid-write left in `dir` (`.NAME.tmp-PID-…`), unless
 * their process is still alive (another writer at work). Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const f = fs();
  let names: string[];
  try {
    names = f.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = /^\..+\.tmp-(\d+)-[0-9a-z]+-\d+$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    // ours may be a write in progress elsewhere in this process; a live pid is another writer
    if (pid === process.pid || pidAlive(pid)) continue;
    f.rmSync(path().join(dir, n), { force: true });
    removed.push(n);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readBytes(p: string, what: string): Uint8Array {
  try {
    const b = fs().readFileSync(p);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new FileError(p, `no such ${what} file`);
    throw new FileError(p, `cannot read ${what} file (${err.message})`);
  }
}

/** Read a .npy file; errors name the file. */
export function readNpy(p: string): Npy {
  return decodeNpy(readBytes(p, '.npy'), p);
}

/**
 * Samples to be scored, read from a .npy file as float32: every value must be a number. A file holding
 * NaN or ±Inf (a diverged chain saved by something else) is a FileError naming it and the count,
 * never a metric of Infinity.
 */
export function readSamplesNpy(p: string): { samples: Float32Array; shape: number[] } {
  const npy = readNpy(p);
  const samples = Float32Array.from(npy.data as ArrayLike<number>);
  let bad = 0;
  for (let i = 0; i < samples.length; i++) if (!Number.isFinite(samples[i])) bad++;
  if (bad > 0) throw new FileError(p, `${bad} of ${samples.length} values are not finite (NaN or ±Inf): not samples that can be scored`);
  return { samples, shape: npy.shape };
}

/** Write a .npy file atomically. */
export function writeNpy(p: string, data: NpyArray, shape: readonly number[], opts?: AtomicWriteOptions): void {
  writeFileAtomic(p, encodeNpy(data, shape), opts);
}

/** Read a .safetensors file; errors name the file. */
export function readSafetensors(p: string): StFile {
  return decodeSafetensors(readBytes(p, '.safetensors'), p);
}

/** Write a .safetensors file atomically. */
export function writeSafetensors(p: string, tensors: Record<string, StInput>, metadata: Record<string, string> = {}, opts?: AtomicWriteOptions): void {
  writeFileAtomic(p, encodeSafetensors(tensors, metadata), opts);
}

export { readBytes as readFileBytes };
