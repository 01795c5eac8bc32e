// safetensors as pure encode/decode on bytes (https://github.com/huggingface/safetensors):
//   u64 LE header size N | N bytes of JSON header | data buffer
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end)} (offsets relative
// to the data buffer) plus an optional "__metadata__" map of string → string. We pad the header
// with spaces to a multiple of 8 bytes, as the reference writer does, and lay tensors out in
// sorted-name order, so the same tensors and metadata always encode to the same bytes.

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

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

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
  throw new SafetensorsError('safetensors: unsupported array type');
}

// Byte order: data is written and read in host order, which is little-endian on every platform
// WebGPU runs on (x86, ARM); safetensors is little-endian.

export function encodeSafetensors(tensors: Record<string, StInput>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`safetensors: metadata '${k}' must be a string`);
    meta[k] = v;
  }
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let off = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError(`safetensors: '__metadata__' is not a tensor name`);
    const t = tensors[name];
    const dtype = t.dtype ?? inferDtype(t.data);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count * WIDTH[dtype] !== t.data.byteLength) {
      throw new SafetensorsError(
        `safetensors: tensor '${name}' shape [${t.shape.join(', ')}] of ${dtype} needs ${count * WIDTH[dtype]} bytes, data has ${t.data.byteLength}`,
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

export function decodeSafetensors(bytes: Uint8Array, name = '<safetensors bytes>'): StFile {
  if (bytes.length < 8) throw new SafetensorsError(`${name}: too short for a safetensors file`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(`${name}: header length ${n} exceeds the file (${bytes.length} bytes); not a safetensors file?`);
  }
  const hlen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new SafetensorsError(`${name}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(`${name}: header is not a JSON object`);
  }
  const base = 8 + hlen;
  const dataLen = bytes.length - base;
  const tensors: Record<string, StTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__') {
      metadata = { ...(v as Record<string, string>) };
      continue;
    }
    const e = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    const dtype = e.dtype as StDtype;
    if (!(dtype in WIDTH)) throw new SafetensorsError(`${name}: tensor '${key}' has unsupported dtype '${e.dtype}'`);
    if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new SafetensorsError(`${name}: tensor '${key}' lacks shape or data_offsets`);
    }
    const [b, end] = e.data_offsets;
    const count = e.shape.reduce((a, c) => a * c, 1);
    if (!(b >= 0 && end >= b && end <= dataLen) || end - b !== count * WIDTH[dtype]) {
      throw new SafetensorsError(
        `${name}: tensor '${key}' data_offsets [${b}, ${end}] do not fit shape [${e.shape.join(', ')}] of ${dtype} within ${dataLen} data bytes`,
      );
    }
    const raw = bytes.slice(base + b, base + end); // copy: aligned and owned
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
    tensors[key] = { dtype, shape: [...e.shape], data };
  }
  return { tensors, metadata };
}
