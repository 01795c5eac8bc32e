// safetensors as pure encode/decode on bytes (https://github.com/huggingface/safetensors):
//   u64 LE header size N | N bytes of JSON header | data buffer
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)} (offsets relative
// to the data buffer) plus an optional "__metadata__" map of string → string. We pad the header
// with spaces to a multiple of 8 bytes, as the reference writer does, and lay tensors out in
// sorted-name order, so the same tensors and metadata always encode to the same bytes.

import { FileError, quoteUntrusted } from '../gpu/errors.js';

export type StDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I8' | 'I16' | 'I32' | 'I64' | 'U8' | 'U16' | 'U32' | 'U64' | 'BOOL';

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  /** Typed view for F32/F64/I8/I16/I32/I64/U8/U16/U32/U64/BOOL; raw little-endian bytes (Uint8Array) for F16/BF16. */
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
}

export interface StFile {
  tensors: Record<string, StTensor>;
  metadata: Record<string, string>;
}

/** What `encodeSafetensors` accepts: a typed array and its shape; dtype inferred from the array. */
export interface StInput {
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
  shape: readonly number[];
  /** Only to mark a Uint8Array as 'BOOL', or raw bytes as 'F16'/'BF16'. */
  dtype?: StDtype;
}

/** A safetensors file (or tensor set) that cannot be read or written; the message names the file. */
export class SafetensorsError extends FileError {
  constructor(file: string, what: string) {
    super(file, what);
  }
}

/** Largest header accepted (the reference implementation's limit is 100 MB). */
const MAX_HEADER = 100_000_000;

const WIDTH: Record<StDtype, number> = {
  F32: 4, F64: 8, F16: 2, BF16: 2, I8: 1, I16: 2, I32: 4, I64: 8, U8: 1, U16: 2, U32: 4, U64: 8, BOOL: 1,
};

function inferDtype(a: StInput['data']): StDtype {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int8Array) return 'I8';
  if (a instanceof Int16Array) return 'I16';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof BigInt64Array) return 'I64';
  if (a instanceof Uint8Array) return 'U8';
  if (a instanceof Uint16Array) return 'U16';
  if (a instanceof Uint32Array) return 'U32';
  if (a instanceof BigUint64Array) return 'U64';
  throw new SafetensorsError('<safetensors tensors>', `unsupported array type ${(a as object)?.constructor?.name ?? typeof a}`);
}

// Byte order: data is written and read in host order, which is little-endian on every platform
// WebGPU runs on (x86, ARM); safetensors is little-endian.

export function encodeSafetensors(tensors: Record<string, StInput>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError('<safetensors tensors>', `metadata '${k}' must be a string`);
    meta[k] = v;
  }
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let off = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError('<safetensors tensors>', `'__metadata__' is not a tensor name`);
    const t = tensors[name];
    const dtype = t.dtype ?? inferDtype(t.data);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count * WIDTH[dtype] !== t.data.byteLength) {
      throw new SafetensorsError(
        '<safetensors tensors>',
        `tensor '${name}' shape [${t.shape.join(', ')}] of ${dtype} needs ${count * WIDTH[dtype]} bytes, data has ${t.data.byteLength}`,
      );
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  let hbytes = new TextEncoder().encode(json);
  const padded = Math.ceil(hbytes.length / 8) * 8;
  if (padded !== hbytes.length) {
    json += ' '.repeat(padded - hbytes.length);
    hbytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
    p += d.byteLength;
  }
  return out;
}

const isDim = (d: unknown): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;

/**
 * Decode safetensors bytes; `name` (a path) is in every error. The header's sizes and offsets are
 * checked against the bytes present before anything is copied, so a corrupt or hostile header
 * gives a SafetensorsError, never a huge allocation.
 */
export function decodeSafetensors(bytes: Uint8Array, name = '<safetensors bytes>'): StFile {
  const fail = (what: string): never => {
    throw new SafetensorsError(name, what);
  };
  if (bytes.length < 8) fail(bytes.length === 0 ? 'empty file, not a safetensors file' : `too short for a safetensors file (${bytes.length} bytes)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes): truncated, or not a safetensors file`);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is over the ${MAX_HEADER}-byte limit`);
  const hlen = Number(n);
  if (hlen < 2 || bytes[8] !== 0x7b /* { */) fail(`not a safetensors file (the header does not start with '{')`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${quoteUntrusted((e as Error).message, 100)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const base = 8 + hlen;
  const dataLen = bytes.length - base;
  const tensors: Record<string, StTensor> = {};
  let metadata: Record<string, string> = {};
  const entries: { key: string; dtype: StDtype; shape: number[]; b: number; end: number }[] = [];
  for (const [key, v] of Object.entries(header as Record<string, unknown>)) {
    const tname = quoteUntrusted(key, 60);
    if (key === '__metadata__') {
      if (v === null) continue;
      if (typeof v !== 'object' || Array.isArray(v)) fail(`__metadata__ is not a JSON object`);
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__ entry ${quoteUntrusted(mk, 40)} is not a string`);
      }
      metadata = { ...(v as Record<string, string>) };
      continue;
    }
    if (key === '__proto__') fail(`'__proto__' is not a usable tensor name`);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`tensor ${tname}: header entry is not a JSON object`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !Object.hasOwn(WIDTH, e.dtype)) {
      fail(`tensor ${tname} has unsupported dtype ${typeof e.dtype === 'string' ? quoteUntrusted(e.dtype, 20) : String(e.dtype)} (${Object.keys(WIDTH).join(', ')})`);
    }
    const dtype = e.dtype as StDtype;
    if (!Array.isArray(e.shape) || !e.shape.every(isDim) || e.shape.length > 32) fail(`tensor ${tname}: shape must be a list of at most 32 non-negative integers`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every(isDim)) fail(`tensor ${tname}: data_offsets must be [begin, end], non-negative integers`);
    const shape = e.shape as number[];
    const [b, end] = e.data_offsets as number[];
    const count = shape.reduce((a, c) => a * c, 1);
    if (!(end >= b && end <= dataLen)) {
      fail(`tensor ${tname} data_offsets [${b}, ${end}] run past the ${dataLen} data bytes (truncated file?)`);
    }
    if (end - b !== count * WIDTH[dtype]) {
      fail(`tensor ${tname}: shape [${shape.join(', ')}] of ${dtype} needs ${count * WIDTH[dtype]} bytes, its data_offsets [${b}, ${end}] hold ${end - b}`);
    }
    entries.push({ key, dtype, shape, b, end });
  }
  // The format lays tensors end to end over the whole buffer. Checking that before copying keeps a
  // header from naming the same bytes many times over (an allocation larger than the file).
  entries.sort((x, y) => x.b - y.b || x.end - y.end);
  let at = 0;
  for (const t of entries) {
    if (t.b !== at) fail(t.b < at ? `tensor ${quoteUntrusted(t.key, 60)} overlaps another tensor's bytes (data_offsets [${t.b}, ${t.end}])` : `bytes ${at}..${t.b} of the data belong to no tensor`);
    at = t.end;
  }
  if (at !== dataLen) fail(`the header's tensors hold ${at} bytes, the file has ${dataLen} after the header (truncated header or appended data)`);
  for (const { key, dtype, shape, b, end } of entries) {
    const raw = new Uint8Array(bytes.subarray(base + b, base + end)); // a copy, aligned and owned (a Buffer's slice() is a view)
    let data: StTensor['data'];
    switch (dtype) {
      case 'F32': data = new Float32Array(raw.buffer); break;
      case 'F64': data = new Float64Array(raw.buffer); break;
      case 'I8': data = new Int8Array(raw.buffer); break;
      case 'I16': data = new Int16Array(raw.buffer); break;
      case 'I32': data = new Int32Array(raw.buffer); break;
      case 'I64': data = new BigInt64Array(raw.buffer); break;
      case 'U16': data = new Uint16Array(raw.buffer); break;
      case 'U32': data = new Uint32Array(raw.buffer); break;
      case 'U64': data = new BigUint64Array(raw.buffer); break;
      default: data = raw; // U8, BOOL, F16, BF16
    }
    tensors[key] = { dtype, shape: [...shape], data };
  }
  return { tensors, metadata };
}
