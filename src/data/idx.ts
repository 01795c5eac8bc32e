// IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/):
//   0x00 0x00 <type> <ndims>  then ndims big-endian u32 sizes  then the data, big-endian, C order.
//   type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64.
// Files may be gzip-compressed (detected by the 1f 8b magic, not the name). Decoding is pure;
// gunzip and file reading use Node's built-ins when present (see src/io/builtin.ts), so this file
// still bundles for the browser, where you pass already-decompressed bytes to decodeIdx.

import { gunzipSync, nodeBuiltin } from '../io/builtin.js';
import { FileError } from '../gpu/errors.js';

/** An IDX file that cannot be read; the message names the file. */
export class IdxError extends FileError {}

export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
export interface Idx<T extends IdxArray = IdxArray> {
  data: T;
  shape: number[];
}

const TYPES: Record<number, { name: string; width: number; make: (n: number) => IdxArray; get: (dv: DataView, o: number) => number }> = {
  0x08: { name: 'u8', width: 1, make: (n) => new Uint8Array(n), get: (dv, o) => dv.getUint8(o) },
  0x09: { name: 'i8', width: 1, make: (n) => new Int8Array(n), get: (dv, o) => dv.getInt8(o) },
  0x0b: { name: 'i16', width: 2, make: (n) => new Int16Array(n), get: (dv, o) => dv.getInt16(o, false) },
  0x0c: { name: 'i32', width: 4, make: (n) => new Int32Array(n), get: (dv, o) => dv.getInt32(o, false) },
  0x0d: { name: 'f32', width: 4, make: (n) => new Float32Array(n), get: (dv, o) => dv.getFloat32(o, false) },
  0x0e: { name: 'f64', width: 8, make: (n) => new Float64Array(n), get: (dv, o) => dv.getFloat64(o, false) },
};

/** Largest decompressed size read from a .gz IDX file (Fashion-MNIST's training images are 47 MB). */
const MAX_GUNZIP = 1 << 30;

/**
 * Decode IDX bytes (raw, or gzip when Node's zlib is available). `name` goes into error messages.
 * The dimensions are checked against the bytes present before anything is allocated.
 */
export function decodeIdx(bytes: Uint8Array, name = '<idx bytes>'): Idx {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, name, MAX_GUNZIP);
    } catch (e) {
      const msg = ((e as Error).message ?? String(e)).split('\n')[0];
      throw new IdxError(name, `cannot decompress (gzip: ${msg})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in TYPES)) {
    const what = bytes.length === 0 ? 'empty file' : `bad magic ${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}; IDX starts 00 00 <type 08/09/0b/0c/0d/0e> <ndims>`;
    throw new IdxError(name, `not an IDX file (${what})`);
  }
  const t = TYPES[bytes[2]];
  const nd = bytes[3];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (nd > 16) throw new IdxError(name, `IDX header says ${nd} dimensions (at most 16 are read; a corrupt file?)`);
  if (bytes.length < 4 + 4 * nd) throw new IdxError(name, `truncated IDX header: ${nd} dimensions need ${4 + 4 * nd} bytes, the file has ${bytes.length}`);
  const shape: number[] = [];
  for (let i = 0; i < nd; i++) shape.push(dv.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  const need = count * t.width;
  const have = bytes.length - start;
  if (need !== have) {
    const why = need > have ? 'truncated IDX data' : 'IDX data longer than its dimensions';
    throw new IdxError(name, `${why}: shape [${shape.join(', ')}] of ${t.name} needs ${need} bytes, the file holds ${have}`);
  }
  let data: IdxArray;
  if (t.width === 1 && t.name === 'u8') {
    data = bytes.slice(start, start + need);
  } else {
    data = t.make(count);
    for (let i = 0; i < count; i++) data[i] = t.get(dv, start + i * t.width);
  }
  return { data, shape };
}

/** Encode an array as raw (uncompressed) IDX bytes; the inverse of decodeIdx. */
export function encodeIdx(data: IdxArray, shape: readonly number[]): Uint8Array {
  const code = data instanceof Uint8Array ? 0x08 : data instanceof Int8Array ? 0x09 : data instanceof Int16Array ? 0x0b
    : data instanceof Int32Array ? 0x0c : data instanceof Float32Array ? 0x0d : 0x0e;
  const width = TYPES[code].width;
  const out = new Uint8Array(4 + 4 * shape.length + data.length * width);
  const dv = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((s, i) => dv.setUint32(4 + 4 * i, s, false));
  const o = 4 + 4 * shape.length;
  for (let i = 0; i < data.length; i++) {
    const p = o + i * width;
    switch (code) {
      case 0x08: dv.setUint8(p, data[i]); break;
      case 0x09: dv.setInt8(p, data[i]); break;
      case 0x0b: dv.setInt16(p, data[i], false); break;
      case 0x0c: dv.setInt32(p, data[i], false); break;
      case 0x0d: dv.setFloat32(p, data[i], false); break;
      default: dv.setFloat64(p, data[i], false);
    }
  }
  return out;
}

/** Read an IDX file (raw or .gz) from disk. Node only. */
export function readIdx(path: string): Idx {
  const fs = nodeBuiltin('node:fs');
  if (!fs) throw new Error(`readIdx(${path}): reading files needs Node; in a browser fetch the bytes and call decodeIdx`);
  let b: Uint8Array;
  try {
    b = fs.readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new IdxError(path, err.code === 'ENOENT' ? 'no such IDX file' : `cannot read IDX file (${err.message})`);
  }
  return decodeIdx(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

/**
 * A class asked for by number (0 … K−1) or by name (case, spaces and punctuation ignored; a whole
 * name, one of its words — 'top', 'boot' — or a prefix, as long as it names one class): `--class`.
 */
export function classIndex(spec: string | number, names: readonly string[] = FASHION_MNIST_CLASSES): number {
  const s = String(spec).trim();
  const valid = `0–${names.length - 1} or ${names.map((n) => `'${n}'`).join(', ')}`;
  if (/^\d+$/.test(s)) {
    const k = Number(s);
    if (k < names.length) return k;
    throw new Error(`class ${s} is out of range: valid ${valid}`);
  }
  const norm = (t: string) => t.toLowerCase().replace(/[^a-z0-9]/g, '');
  const q = norm(s);
  const pick = (ok: (n: string) => boolean) => names.map((n, i) => (ok(n) ? i : -1)).filter((i) => i >= 0);
  for (const hits of [
    pick((n) => norm(n) === q),
    pick((n) => n.split(/[\s/]+/).some((w) => norm(w) === q)),
    pick((n) => norm(n).startsWith(q)),
  ]) {
    if (q && hits.length === 1) return hits[0];
    if (q && hits.length > 1) throw new Error(`class '${s}' is ambiguous (${hits.map((i) => `'${names[i]}'`).join(', ')}): valid ${valid}`);
  }
  throw new Error(`unknown class '${s}': valid ${valid}`);
}

export interface ImageSplit {
  /** [n, h, w] bytes 0..255 (0 = background). */
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  h: number;
  w: number;
}

function findFile(fs: NonNullable<ReturnType<typeof nodeBuiltin<'node:fs'>>>, dir: string, stem: string): string | null {
  for (const cand of [`${stem}.gz`, stem, stem.replace(/-idx(\d)-/, '.idx$1-')]) {
    const p = `${dir.replace(/\/+$/, '')}/${cand}`;
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Load an MNIST-format directory (train-/t10k- images and labels, .gz or raw). */
export function loadIdxImageDir(dir: string, split: 'train' | 'test' = 'train'): ImageSplit {
  const fs = nodeBuiltin('node:fs');
  if (!fs) throw new Error(`loading ${dir} needs Node; in a browser fetch the files and call decodeIdx`);
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgPath = findFile(fs, dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = findFile(fs, dir, `${prefix}-labels-idx1-ubyte`);
  if (!imgPath || !lblPath) {
    throw new Error(`${dir}: missing ${prefix}-images-idx3-ubyte(.gz) or ${prefix}-labels-idx1-ubyte(.gz)`);
  }
  const img = readIdx(imgPath);
  const lbl = readIdx(lblPath);
  if (img.shape.length !== 3 || !(img.data instanceof Uint8Array)) {
    throw new IdxError(imgPath, `expected a u8 image array [n, h, w], got ${img.data.constructor.name} of shape [${img.shape.join(', ')}]`);
  }
  if (img.shape.some((d) => d === 0)) throw new IdxError(imgPath, `holds no images (shape [${img.shape.join(', ')}])`);
  if (lbl.shape.length !== 1 || lbl.shape[0] !== img.shape[0] || !(lbl.data instanceof Uint8Array)) {
    throw new IdxError(lblPath, `expected ${img.shape[0]} u8 labels (one per image in ${imgPath}), got ${lbl.data.constructor.name} of shape [${lbl.shape.join(', ')}]`);
  }
  return { images: img.data, labels: lbl.data, n: img.shape[0], h: img.shape[1], w: img.shape[2] };
}

/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` package (28×28 grey, 10 classes;
 * 60000 train / 10000 test). Node only.
 */
export function loadFashionMnist(dir = FASHION_MNIST_DIR, split: 'train' | 'test' = 'train'): ImageSplit {
  const fs = nodeBuiltin('node:fs');
  if (fs && !fs.existsSync(dir)) {
    throw new Error(
      `Fashion-MNIST not found at ${dir}. Install Debian's package: apt-get install dataset-fashion-mnist ` +
        `(or pass the directory holding train-images-idx3-ubyte.gz etc.)`,
    );
  }
  return loadIdxImageDir(dir, split);
}

/** u8 images [n, h, w] → Float32Array [n, 1, h, w] scaled to [-1, 1] (default) or [0, 1]. */
export function imagesToFloat(images: Uint8Array, range: '[-1,1]' | '[0,1]' = '[-1,1]'): Float32Array {
  const out = new Float32Array(images.length);
  if (range === '[0,1]') for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
  else for (let i = 0; i < images.length; i++) out[i] = (images[i] / 255) * 2 - 1;
  return out;
}
