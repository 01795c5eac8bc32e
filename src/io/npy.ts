// NumPy .npy format (versions 1.0, 2.0, 3.0) as pure encode/decode on bytes; no file system here.
// Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//   "\x93NUMPY" major minor  header_len (u16 LE for v1, u32 LE for v2/v3)  header (ASCII/UTF-8 dict
//   literal, space-padded, '\n'-terminated, so that magic+len+header is a multiple of 64)  data.

import { FileError, quoteUntrusted } from '../gpu/errors.js';

export type NpyDtype = 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';
export type NpyArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

export interface Npy {
  dtype: NpyDtype;
  shape: number[];
  data: NpyArray;
}

/** A .npy file (or array) that cannot be read or written; the message names the file. */
export class NpyError extends FileError {
  constructor(file: string, what: string) {
    super(file, what);
  }
}

/** Largest header accepted (numpy's own reader stops at 10 000 bytes unless told otherwise). */
const MAX_HEADER = 1 << 20;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const CTORS = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array, i8: BigInt64Array,
  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, u8: BigUint64Array, b1: Uint8Array,
} as const;

function dtypeOf(a: NpyArray): NpyDtype {
  if (a instanceof Float32Array) return 'f4';
  if (a instanceof Float64Array) return 'f8';
  if (a instanceof Int8Array) return 'i1';
  if (a instanceof Int16Array) return 'i2';
  if (a instanceof Int32Array) return 'i4';
  if (a instanceof BigInt64Array) return 'i8';
  if (a instanceof Uint8Array) return 'u1';
  if (a instanceof Uint16Array) return 'u2';
  if (a instanceof Uint32Array) return 'u4';
  if (a instanceof BigUint64Array) return 'u8';
  throw new NpyError('<npy array>', `unsupported array type ${(a as object)?.constructor?.name ?? typeof a}`);
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encode a C-order array as .npy (version 1.0, or 2.0 when the header needs it). */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new NpyError('<npy array>', `shape [${shape.join(', ')}] holds ${count} elements, data has ${data.length}`);
  }
  const dt = dtypeOf(data);
  const descr = dt === 'u1' || dt === 'i1' ? `|${dt}` : `<${dt}`;
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  let version = 1;
  let pre = 10;
  if (dict.length + 1 + pre > 65535) {
    version = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const headerLen = dict.length;
  const bytes = new Uint8Array(pre + headerLen + data.byteLength);
  bytes.set(MAGIC, 0);
  bytes[6] = version;
  bytes[7] = 0;
  const dv = new DataView(bytes.buffer);
  if (version === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let i = 0; i < headerLen; i++) bytes[pre + i] = dict.charCodeAt(i);
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  bytes.set(src, pre + headerLen);
  if (!littleEndianHost) swapInPlace(bytes.subarray(pre + headerLen), data.BYTES_PER_ELEMENT);
  return bytes;
}

function swapInPlace(b: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i < b.length; i += width) b.subarray(i, i + width).reverse();
}

function parseHeader(h: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const body = h.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) throw new NpyError(where, `malformed .npy header (not a dict literal): ${quoteUntrusted(body)}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(body);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(body);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(body);
  if (!descr || !fortran || !shape) throw new NpyError(where, `malformed .npy header (needs descr, fortran_order and shape): ${quoteUntrusted(body)}`);
  const parts = shape[1].split(',').map((s) => s.trim());
  // '(3,)' splits into ['3', '']; an empty part anywhere else is a syntax error
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 1 && parts[0] === '') parts.pop();
  if (parts.length > 32) throw new NpyError(where, `.npy shape has ${parts.length} dimensions (at most 32)`);
  const dims = parts.map((s) => {
    const v = /^\d+L?$/.test(s) ? Number(s.replace(/L$/, '')) : NaN;
    if (!Number.isSafeInteger(v)) throw new NpyError(where, `bad dimension ${quoteUntrusted(s, 24)} in .npy shape (${quoteUntrusted(shape[1], 60)})`);
    return v;
  });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/**
 * Decode .npy bytes. `name` (a file path, say) is put in every error message.
 * Supports little/big-endian ints, uints, float32/float64 and bool, C order. Fortran order is
 * rejected with a clear error (transpose it in NumPy with np.ascontiguousarray first). Every size
 * the header states is checked against the bytes present before anything is allocated.
 */
export function decodeNpy(bytes: Uint8Array, name = '<npy bytes>'): Npy {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    const what = bytes.length === 0 ? 'empty file' : bytes.length < 10 && MAGIC.slice(0, bytes.length).every((m, i) => bytes[i] === m) ? `truncated (${bytes.length} bytes)` : 'missing the \\x93NUMPY magic';
    throw new NpyError(name, `not a .npy file (${what})`);
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pre: number;
  let headerLen: number;
  if (major === 1) {
    pre = 10;
    headerLen = dv.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(name, `truncated .npy header (${bytes.length} bytes)`);
    pre = 12;
    headerLen = dv.getUint32(8, true);
  } else {
    throw new NpyError(name, `unsupported .npy version ${major}.${bytes[7]} (1.0, 2.0 and 3.0 are read)`);
  }
  if (pre + headerLen > bytes.length) throw new NpyError(name, `truncated .npy header: it says ${headerLen} bytes, the file has ${bytes.length - pre} after the preamble`);
  if (headerLen > MAX_HEADER) throw new NpyError(name, `.npy header length ${headerLen} is over the ${MAX_HEADER}-byte limit`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(pre, pre + headerLen));
  const { descr, fortran, shape } = parseHeader(header, name);
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  const dt = m ? (`${m[2]}${m[3]}` as NpyDtype) : null;
  if (!m || !dt || !Object.hasOwn(CTORS, dt)) {
    throw new NpyError(name, `unsupported .npy dtype ${quoteUntrusted(descr, 24)} (supported: float32, float64, int8..int64, uint8..uint64, bool)`);
  }
  if (fortran && shape.length > 1) {
    throw new NpyError(name, 'Fortran-order (column-major) .npy arrays are not supported; save a C-order copy (np.save(path, np.ascontiguousarray(a)))');
  }
  const Ctor = CTORS[dt];
  const width = Ctor.BYTES_PER_ELEMENT;
  const start = pre + headerLen;
  const have = bytes.length - start;
  // count and need stay exact while they fit the file; beyond it they only need to compare larger
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * width;
  if (need !== have) {
    const why = need > have ? 'truncated .npy data' : '.npy data longer than its shape';
    throw new NpyError(name, `${why}: shape [${shape.join(', ')}] of ${descr} needs ${need} bytes, the file holds ${have}`);
  }
  // a copy, aligned and owned: new Uint8Array(view), since a Node Buffer's slice() is a view into its pool
  const raw = new Uint8Array(bytes.subarray(start, start + need));
  const bigEndian = m[1] === '>' || (m[1] === '=' && !littleEndianHost);
  if (bigEndian === littleEndianHost) swapInPlace(raw, width);
  const data = new Ctor(raw.buffer, 0, count) as NpyArray;
  return { dtype: dt, shape, data };
}
