// Files in (issue 15, item 5): a seeded fuzz of every file format a user hands us. Valid files —
// .npy (v1 and v2 headers, f32/f64/u8), safetensors run checkpoints (a toy MLP's with params, EMA
// and Adam state; a small U-Net's EMA weights), IDX (raw and gzip) — are mutated at random (bytes
// flipped or overwritten, big-endian/little-endian extreme values written over length fields,
// truncations, insertions, deletions, duplicated chunks, and for checkpoints values in the config
// JSON replaced by wrong types and huge sizes) and read through the same path a command takes.
//
// "Clear" means: the reader either returns something consistent or throws our FileError, on one
// line, whose message starts with the file's name. Anything else — a TypeError, a RangeError, a
// message over two lines, a case taking over a second, a result holding more bytes than the file
// could justify — is a finding, and the test lists them. CPU only (no device): the models are built
// as modules, and their weights read back with the checkpoint reader.
import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';
import { encodeSafetensors, decodeSafetensors } from '../src/io/safetensors.js';
import { encodeIdx, decodeIdx } from '../src/data/idx.js';
import { npyRows } from '../src/data/dataset.js';
import { FileError } from '../src/gpu/errors.js';
import { CHECKPOINT_FORMAT, toTorchLayout, fromTorchLayout, fromFileConfig } from '../src/train/checkpoint.js';
import { toyConfig, toyModel } from '../src/train/toy_recipes.js';
import { toyCheckpointOf } from '../src/train/toy_run.js';
import { imageCheckpointOf } from '../src/train/image.js';
import { imageConfig } from '../src/train/image_recipes.js';
import { createUNet } from '../src/nn/unet.js';
import type { Module, ParamArena } from '../src/nn/module.js';

const SEED = Number(process.env.SCOREGPU_FUZZ_SEED ?? 20251205);
const CASES = Number(process.env.SCOREGPU_FUZZ_CASES ?? 4000);
const BUDGET_MS = 25_000;

function mulberry(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rand = ReturnType<typeof mulberry>;
const int = (r: Rand, n: number) => Math.floor(r() * n);

/** Values that break length fields: 0, 1, all ones, the sign bit, just past the file. */
function extreme(r: Rand, len: number): Uint8Array {
  const width = [1, 2, 4, 8][int(r, 4)];
  const out = new Uint8Array(width);
  const dv = new DataView(out.buffer);
  const pick = int(r, 6);
  const le = r() < 0.5;
  if (pick === 0) out.fill(0xff);
  else if (pick === 1) out[le ? width - 1 : 0] = 0x80;
  else if (pick === 2) out[le ? 0 : width - 1] = 1;
  else if (pick === 3 && width >= 4) dv.setUint32(0, Math.min(0xffffffff, len + 1 + int(r, 64)), le);
  else if (pick === 4 && width >= 4) dv.setUint32(0, int(r, 0xffffffff), le);
  return out;
}

/** One random mutation of `src` (a new array), and what it was. */
function mutate(src: Uint8Array, r: Rand, headerEnd: number): { bytes: Uint8Array; how: string } {
  // aim half of the mutations at the header, where the parsing happens
  const pos = (n: number) => (r() < 0.5 ? int(r, Math.min(n, headerEnd + 8)) : int(r, n));
  const kind = int(r, 7);
  const b = new Uint8Array(src);
  switch (kind) {
    case 0: {
      const k = 1 + int(r, 8);
      for (let i = 0; i < k; i++) b[pos(b.length)] ^= 1 << int(r, 8);
      return { bytes: b, how: `flip ${k} bits` };
    }
    case 1: {
      const k = 1 + int(r, 4);
      for (let i = 0; i < k; i++) b[pos(b.length)] = int(r, 256);
      return { bytes: b, how: `set ${k} bytes` };
    }
    case 2: {
      const at = pos(b.length);
      const v = extreme(r, b.length);
      b.set(v.subarray(0, Math.min(v.length, b.length - at)), at);
      return { bytes: b, how: `extreme value at ${at}` };
    }
    case 3: {
      const n = int(r, src.length);
      return { bytes: src.slice(0, n), how: `truncate to ${n}` };
    }
    case 4: {
      const at = pos(src.length);
      const k = 1 + int(r, 16);
      const ins = Uint8Array.from({ length: k }, () => int(r, 256));
      return { bytes: new Uint8Array([...src.subarray(0, at), ...ins, ...src.subarray(at)]), how: `insert ${k} at ${at}` };
    }
    case 5: {
      const at = pos(src.length);
      const k = 1 + int(r, 32);
      return { bytes: new Uint8Array([...src.subarray(0, at), ...src.subarray(at + k)]), how: `delete ${k} at ${at}` };
    }
    default: {
      const a = int(r, src.length);
      const k = 1 + int(r, 64);
      const at = pos(src.length);
      return { bytes: new Uint8Array([...src.subarray(0, at), ...src.subarray(a, a + k), ...src.subarray(at)]), how: `duplicate ${k} at ${at}` };
    }
  }
}

/** A checkpoint whose config JSON has one value replaced by a wrong type or an absurd size. */
function mutateConfig(tensors: Record<string, { data: Float32Array; shape: number[] }>, meta: Record<string, string>, r: Rand): { bytes: Uint8Array; how: string } {
  const cfg = JSON.parse(meta.config);
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, Array.isArray(v) ? Number(k) : k]);
  };
  walk(cfg, []);
  const p = paths[1 + int(r, paths.length - 1)];
  const VALUES = [null, -1, 0, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, 'x', '', [], {}, [1e9, 1e9], true, 65536, 65537, 1 << 20, [0], { kind: 'image' }];
  const val = VALUES[int(r, VALUES.length)];
  let o: any = cfg;
  for (const k of p.slice(0, -1)) o = o[k];
  o[p[p.length - 1]] = val;
  return { bytes: encodeSafetensors(tensors, { ...meta, config: JSON.stringify(cfg) }), how: `config.${p.join('.')} = ${JSON.stringify(val)}` };
}

interface Format {
  name: string;
  file: string;
  valid: Uint8Array;
  headerEnd: number;
  /** Read as a command would; returns the bytes the result holds (for the allocation bound). */
  read: (bytes: Uint8Array, file: string) => number;
  /** Largest result a file of `n` bytes may justify. */
  maxResult: (n: number) => number;
  structured?: (r: Rand) => { bytes: Uint8Array; how: string };
}

/** The arena-free part of a ParamArena that the checkpoint reader uses: the parameters in order. */
function paramsOf(model: Module): ParamArena {
  const params = model.namedParameters();
  let off = 0;
  for (const [, p] of params) {
    p.offset = off;
    off += p.size;
  }
  return { params, size: off } as unknown as ParamArena;
}
function initValues(arena: ParamArena): Float32Array {
  const all = new Float32Array(arena.size);
  for (const [, p] of arena.params) all.set(p.init, p.offset);
  return all;
}

function formats(): Format[] {
  const r = mulberry(SEED ^ 0x5eed);
  const rows = Float32Array.from({ length: 64 * 3 }, () => r() * 4 - 2);
  const npyV1 = encodeNpy(rows, [64, 3]);
  const npyF64 = encodeNpy(Float64Array.from({ length: 40 }, () => r()), [40]);
  const npyU8 = encodeNpy(Uint8Array.from({ length: 20 * 4 * 4 }, () => int(r, 256)), [20, 4, 4]);
  const bytesOf = (x: { data: ArrayBufferView }[]) => x.reduce((s, t) => s + t.data.byteLength, 0);

  // a toy run's checkpoint as saveCheckpoint writes it
  const tcfg = toyConfig({ hidden: [8, 8], seed: 3 });
  const tmodel = toyModel(tcfg);
  const tarena = paramsOf(tmodel);
  const tall = initValues(tarena);
  const ttensors = {
    ...toTorchLayout(tmodel, tarena, tall, 'params.'),
    ...toTorchLayout(tmodel, tarena, tall, 'ema.'),
    ...toTorchLayout(tmodel, tarena, new Float32Array(tall.length), 'adam.m.'),
    ...toTorchLayout(tmodel, tarena, new Float32Array(tall.length).fill(1e-6), 'adam.v.'),
  };
  const tmeta = { format: CHECKPOINT_FORMAT, config: JSON.stringify(tcfg), step: '40', rng: JSON.stringify({ generator: 'philox4x32-10', seed: 3, step: 40 }) };
  const toy = encodeSafetensors(ttensors, tmeta);

  // a small U-Net's released weights (EMA under bare names)
  const icfg = { ...imageConfig({ process: 'ncsn', unet: { base: 8, mults: [1, 2] } }), shape: [1, 8, 8] as [number, number, number] };
  icfg.process = { kind: 'ncsn', sigmaMax: 1, sigmaMin: 0.01, levels: 10 };
  const unetOf = (cfg: typeof icfg) => createUNet(cfg.preset, { ...cfg.unet, channels: cfg.shape[0], imageSize: cfg.shape[1], seed: cfg.seed, embedding: 'fourier', scaleBySigma: true });
  const inet = unetOf(icfg);
  const iarena = paramsOf(inet);
  const itensors = toTorchLayout(inet, iarena, initValues(iarena));
  const imeta = { format: CHECKPOINT_FORMAT, config: JSON.stringify(icfg), step: '100', weights: 'ema' };
  const image = encodeSafetensors(itensors, imeta);

  const stHeaderEnd = (b: Uint8Array) => 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const readToy = (bytes: Uint8Array, file: string) => {
    const st = decodeSafetensors(bytes, file);
    const ck = toyCheckpointOf(st, file);
    const model = fromFileConfig(file, () => toyModel(ck.cfg));
    const arena = paramsOf(model);
    let held = 0;
    for (const prefix of ['params.', 'ema.', 'adam.m.', 'adam.v.']) {
      const v = fromTorchLayout(model, arena, st, prefix, file);
      if (!v) throw new FileError(file, `no '${prefix}' tensors`);
      for (const t of v.values()) held += t.data.byteLength;
    }
    return Math.max(held, bytesOf(Object.values(st.tensors)));
  };
  const readImage = (bytes: Uint8Array, file: string) => {
    const st = decodeSafetensors(bytes, file);
    const ck = imageCheckpointOf(st, file);
    const net = fromFileConfig(file, () => unetOf(ck.config as typeof icfg));
    const v = fromTorchLayout(net, paramsOf(net), st, '', file);
    if (!v) throw new FileError(file, 'no weights');
    return bytesOf(Object.values(st.tensors));
  };

  const idx = encodeIdx(Uint8Array.from({ length: 30 * 5 * 5 }, () => int(r, 256)), [30, 5, 5]);
  const idxF32 = encodeIdx(Float32Array.from({ length: 48 }, () => r()), [4, 12]);
  const idxGz = new Uint8Array(gzipSync(idx));

  return [
    { name: 'npy f32 [N, D] as training data', file: 'rows.npy', valid: npyV1, headerEnd: 128, read: (b, f) => npyRows(b, f).data.byteLength, maxResult: (n) => n },
    { name: 'npy f64 1-D', file: 'vec.npy', valid: npyF64, headerEnd: 128, read: (b, f) => decodeNpy(b, f).data.byteLength, maxResult: (n) => n },
    { name: 'npy u8 images', file: 'images.npy', valid: npyU8, headerEnd: 128, read: (b, f) => decodeNpy(b, f).data.byteLength, maxResult: (n) => n },
    {
      name: 'toy run checkpoint', file: 'runs/toy/checkpoint.safetensors', valid: toy, headerEnd: stHeaderEnd(toy), read: readToy, maxResult: (n) => n,
      structured: (rr) => mutateConfig(ttensors, tmeta, rr),
    },
    {
      name: 'U-Net model weights', file: 'models/unet/model.safetensors', valid: image, headerEnd: stHeaderEnd(image), read: readImage, maxResult: (n) => n,
      structured: (rr) => mutateConfig(itensors, imeta, rr),
    },
    { name: 'IDX u8', file: 'train-images-idx3-ubyte', valid: idx, headerEnd: 16, read: (b, f) => decodeIdx(b, f).data.byteLength, maxResult: (n) => n },
    { name: 'IDX f32', file: 'vals-idx2-float', valid: idxF32, headerEnd: 12, read: (b, f) => decodeIdx(b, f).data.byteLength * 4, maxResult: (n) => 4 * n },
    // deflate expands at most ~1032:1
    { name: 'IDX gzip', file: 'train-labels-idx1-ubyte.gz', valid: idxGz, headerEnd: 24, read: (b, f) => decodeIdx(b, f).data.byteLength, maxResult: (n) => 1100 * n },
  ];
}

describe('fuzzed files give clear errors', () => {
  it(`${CASES} seeded mutations of valid .npy, safetensors checkpoints and IDX files`, () => {
    const fmts = formats();
    // the valid files read
    for (const f of fmts) expect(f.read(f.valid, f.file), f.name).toBeGreaterThan(0);
    const r = mulberry(SEED);
    const findings: string[] = [];
    const tally = new Map<string, { cases: number; errors: number; accepted: number; messages: Set<string> }>();
    const t0 = performance.now();
    let done = 0;
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      if (performance.now() - t0 > BUDGET_MS) break;
      const f = fmts[i % fmts.length];
      const m = f.structured && r() < 0.3 ? f.structured(r) : mutate(f.valid, r, f.headerEnd);
      const st = tally.get(f.name) ?? { cases: 0, errors: 0, accepted: 0, messages: new Set() };
      tally.set(f.name, st);
      st.cases++;
      const c0 = performance.now();
      try {
        const held = f.read(m.bytes, f.file);
        st.accepted++;
        if (held > f.maxResult(m.bytes.length)) findings.push(`${f.name} #${i} (${m.how}): accepted, holding ${held} bytes from a ${m.bytes.length}-byte file`);
      } catch (e) {
        st.errors++;
        const msg = (e as Error)?.message ?? String(e);
        const clear = e instanceof FileError && msg.startsWith(`${f.file}: `) && !msg.includes('\n') && msg.length < 600;
        if (!clear) findings.push(`${f.name} #${i} (${m.how}): ${(e as Error)?.name}: ${msg.slice(0, 300)}`);
        else st.messages.add(msg.slice(f.file.length + 2).replace(/\d+/g, 'N').slice(0, 60));
      }
      const dt = performance.now() - c0;
      slowest = Math.max(slowest, dt);
      if (dt > 1000) findings.push(`${f.name} #${i} (${m.how}): took ${dt.toFixed(0)} ms`);
      done++;
    }
    const secs = (performance.now() - t0) / 1000;
    const lines = [...tally].map(([k, v]) => `${k}: ${v.cases} cases, ${v.errors} clear errors (${v.messages.size} kinds), ${v.accepted} read`);
    console.log(`fuzz seed ${SEED}: ${done} cases in ${secs.toFixed(1)} s (slowest ${slowest.toFixed(1)} ms)\n  ${lines.join('\n  ')}`);
    expect(findings, findings.slice(0, 20).join('\n')).toEqual([]);
    expect(done).toBeGreaterThanOrEqual(Math.min(CASES, 2000));
  }, 60_000);
});
