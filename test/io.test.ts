import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../src/io/npy.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { mkdirp, readNpy, readSafetensors, writeFileAtomic, writeNpy, writeSafetensors } from '../src/io/fs.js';
import { Canvas, crc32, encodePng, zlibStored } from '../src/io/png.js';
import { imageGrid } from '../src/io/render_node.js';
import { formatDuration, Progress } from '../src/io/progress.js';

const bytesEq = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'scoregpu-io-'));
}

// ---------------------------------------------------------------------------------------------

describe('npy', () => {
  it('round-trips bit for bit (f32 incl. NaN payloads, −0, ±Inf; f64; ints)', () => {
    const f = new Float32Array([1.5, -0, Infinity, -Infinity, NaN, 3.4e38, 1e-45, -7]);
    new Uint32Array(f.buffer)[4] = 0x7fc12345; // a NaN with a payload
    const r = decodeNpy(encodeNpy(f, [2, 4]));
    expect(r.dtype).toBe('f4');
    expect(r.shape).toEqual([2, 4]);
    expect(bytesEq(r.data, f)).toBe(true);
    for (const a of [new Float64Array([Math.PI, -1e300, 5e-324]), new Int32Array([-5, 7, 2 ** 31 - 1]), new Uint8Array([0, 255, 9]), new BigInt64Array([-3n, 2n ** 62n, 0n])]) {
      const d = decodeNpy(encodeNpy(a, [3]));
      expect(d.shape).toEqual([3]);
      expect(bytesEq(d.data, a)).toBe(true);
    }
    // scalar (shape ()) and empty
    expect(decodeNpy(encodeNpy(new Float32Array([2]), [])).shape).toEqual([]);
    expect(decodeNpy(encodeNpy(new Float32Array(0), [0, 3])).shape).toEqual([0, 3]);
  });

  it('decodes a Node Buffer that is a view into a larger pool (what readFileSync returns for small files)', () => {
    // Buffer.prototype.slice is a view: a decoder that copies with slice() and then reads .buffer
    // from offset 0 returns the pool's bytes instead of the array's
    const f = Float32Array.from({ length: 7 }, () => Math.random() - 0.5);
    const enc = encodeNpy(f, [7]);
    const pool = Buffer.alloc(enc.length + 40, 0x7f);
    pool.set(enc, 24);
    const view = pool.subarray(24, 24 + enc.length);
    expect(view.byteOffset).toBe(24);
    expect(bytesEq(decodeNpy(view).data, f)).toBe(true);
  });

  it('writes the header per the spec (magic, v1.0, 64-byte aligned, newline-terminated)', () => {
    const b = encodeNpy(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect([...b.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const hl = b[8] | (b[9] << 8);
    expect((10 + hl) % 64).toBe(0);
    const header = Buffer.from(b.subarray(10, 10 + hl)).toString('latin1');
    expect(header.endsWith('\n')).toBe(true);
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(b.length).toBe(10 + hl + 24);
  });

  it('decodes hand-made files: v1 and v2 headers, big-endian, 1-D shape, double quotes', () => {
    const make = (major: number, header: string, data: number[]) => {
      const pre = major === 1 ? 10 : 12;
      const h = header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1, ' ') + '\n';
      const out = new Uint8Array(pre + h.length + data.length);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
      const dv = new DataView(out.buffer);
      if (major === 1) dv.setUint16(8, h.length, true);
      else dv.setUint32(8, h.length, true);
      out.set(Buffer.from(h, 'latin1'), pre);
      out.set(data, pre + h.length);
      return out;
    };
    // float32 1.0 and -2.0, little-endian, shape (2,)
    const v1 = make(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect([...(decodeNpy(v1).data as Float32Array)]).toEqual([1, -2]);
    // v2 header, big-endian int16 [[1, 2], [3, -1]]
    const v2 = make(2, '{"descr": ">i2", "fortran_order": False, "shape": (2, 2)}', [0, 1, 0, 2, 0, 3, 0xff, 0xff]);
    const d = decodeNpy(v2);
    expect(d.shape).toEqual([2, 2]);
    expect([...(d.data as Int16Array)]).toEqual([1, 2, 3, -1]);
    // Fortran order: a clear error naming the file
    const ft = make(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", new Array(32).fill(0));
    expect(() => decodeNpy(ft, 'weights.npy')).toThrow(/weights\.npy: Fortran-order.*ascontiguousarray/);
    // unsupported dtype, truncated data, garbage
    const c8 = make(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Array(8).fill(0));
    expect(() => decodeNpy(c8, 'z.npy')).toThrow(/z\.npy: unsupported \.npy dtype '<c8'/);
    expect(() => decodeNpy(v1.subarray(0, v1.length - 2), 'cut.npy')).toThrow(/cut\.npy: truncated \.npy data/);
    expect(() => decodeNpy(new Uint8Array([1, 2, 3]), 'g.npy')).toThrow(/g\.npy: not a \.npy file/);
  });

  it('readNpy / writeNpy through the file system, errors name the file', () => {
    const dir = tmp();
    try {
      const p = join(dir, 'sub', 'x.npy');
      const a = Float32Array.from({ length: 12 }, (_, i) => i * 0.1);
      writeNpy(p, a, [4, 3]);
      const r = readNpy(p);
      expect(r.shape).toEqual([4, 3]);
      expect(bytesEq(r.data, a)).toBe(true);
      writeFileSync(join(dir, 'bad.npy'), 'not numpy');
      expect(() => readNpy(join(dir, 'bad.npy'))).toThrow(new RegExp(`${join(dir, 'bad.npy')}: not a .npy file`));
      expect(() => readNpy(join(dir, 'none.npy'))).toThrow(/none\.npy: no such \.npy file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('safetensors', () => {
  it('round-trips bit for bit with metadata; header per the format', () => {
    const w = new Float32Array([1, -0, NaN, 3.25, 1e-40, -2]);
    const b = new Float32Array([0.5]);
    const step = new Int32Array([7, 8]);
    const bytes = encodeSafetensors({ 'layer.weight': { data: w, shape: [2, 3] }, 'layer.bias': { data: b, shape: [1] }, step: { data: step, shape: [2] } }, { format: 'pt', note: 'ok' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'ok' });
    expect(header['layer.bias']).toEqual({ dtype: 'F32', shape: [1], data_offsets: [0, 4] });
    expect(header['layer.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [4, 28] });
    expect(header.step).toEqual({ dtype: 'I32', shape: [2], data_offsets: [28, 36] });
    expect(bytes.length).toBe(8 + n + 36);
    const r = decodeSafetensors(bytes);
    expect(r.metadata).toEqual({ format: 'pt', note: 'ok' });
    expect(r.tensors['layer.weight'].shape).toEqual([2, 3]);
    expect(bytesEq(r.tensors['layer.weight'].data, w)).toBe(true);
    expect(bytesEq(r.tensors['layer.bias'].data, b)).toBe(true);
    expect(r.tensors.step.dtype).toBe('I32');
    // deterministic: same input, same bytes
    expect(bytesEq(encodeSafetensors({ step: { data: step, shape: [2] }, 'layer.bias': { data: b, shape: [1] }, 'layer.weight': { data: w, shape: [2, 3] } }, { format: 'pt', note: 'ok' }), bytes)).toBe(true);
    // from a Node Buffer that views a larger pool at an offset (Buffer.slice is a view, not a copy)
    const pool = Buffer.alloc(bytes.length + 48, 0x7f);
    pool.set(bytes, 40);
    const fromPool = decodeSafetensors(pool.subarray(40, 40 + bytes.length));
    expect(bytesEq(fromPool.tensors['layer.weight'].data, w)).toBe(true);
    expect(bytesEq(fromPool.tensors.step.data, step)).toBe(true);
  });

  it('decodes a file built by hand and rejects broken ones', () => {
    const json = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"a":"b"}}';
    const h = Buffer.from(json);
    const f = Buffer.alloc(8 + h.length + 8);
    f.writeBigUInt64LE(BigInt(h.length), 0);
    h.copy(f, 8);
    f.writeFloatLE(1.5, 8 + h.length);
    f.writeFloatLE(-4, 12 + h.length);
    const r = decodeSafetensors(new Uint8Array(f));
    expect([...(r.tensors.x.data as Float32Array)]).toEqual([1.5, -4]);
    expect(r.metadata).toEqual({ a: 'b' });
    const short = new Uint8Array(f.subarray(0, f.length - 1));
    expect(() => decodeSafetensors(short, 'm.safetensors')).toThrow(/m\.safetensors: tensor 'x' data_offsets/);
    expect(() => decodeSafetensors(new Uint8Array(4), 'e.safetensors')).toThrow(/e\.safetensors: too short/);
    expect(() => encodeSafetensors({ a: { data: new Float32Array(3), shape: [2, 2] } })).toThrow(/'a' shape \[2, 2\]/);
  });

  it('file helpers', () => {
    const dir = tmp();
    try {
      const p = join(dir, 'ck', 'model.safetensors');
      writeSafetensors(p, { w: { data: new Float32Array([1, 2]), shape: [2] } }, { step: '10' });
      const r = readSafetensors(p);
      expect(r.metadata.step).toBe('10');
      expect([...(r.tensors.w.data as Float32Array)]).toEqual([1, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('writeFileAtomic', () => {
  it('replaces the file whole, leaves no temp file, cleans up on failure', () => {
    const dir = tmp();
    try {
      const p = join(dir, 'a', 'b', 'out.bin');
      writeFileAtomic(p, new Uint8Array([1, 2, 3]));
      expect([...readFileSync(p)]).toEqual([1, 2, 3]);
      const big = new Uint8Array(3_000_000).map((_, i) => i & 255);
      writeFileAtomic(p, big);
      expect(readFileSync(p).equals(Buffer.from(big))).toBe(true);
      writeFileAtomic(p, 'text');
      expect(readFileSync(p, 'utf8')).toBe('text');
      expect(readdirSync(join(dir, 'a', 'b'))).toEqual(['out.bin']);
      // failure: the target is a non-empty directory, so the rename fails; nothing is left behind
      const d = join(dir, 'isdir');
      mkdirSync(join(d, 'inner'), { recursive: true });
      expect(() => writeFileAtomic(d, new Uint8Array([9]))).toThrow();
      expect(readdirSync(dir).sort()).toEqual(['a', 'isdir']);
      expect(readdirSync(d)).toEqual(['inner']);
      mkdirp(join(dir, 'x', 'y', 'z'));
      expect(existsSync(join(dir, 'x', 'y', 'z'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface DecodedPng {
  width: number;
  height: number;
  colorType: number;
  channels: number;
  pixels: Uint8Array;
}

/** Minimal PNG reader for tests: checks signature and every CRC, inflates IDAT, undoes filters. */
function decodePng(png: Uint8Array): DecodedPng {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  let ihdr: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (o < png.length) {
    const len = dv.getUint32(o);
    const type = Buffer.from(png.subarray(o + 4, o + 8)).toString('latin1');
    types.push(type);
    expect(dv.getUint32(o + 8 + len)).toBe(crc32(png, o + 4, o + 8 + len));
    const body = png.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') ihdr = body;
    if (type === 'IDAT') idat.push(body);
    o += 12 + len;
  }
  expect(o).toBe(png.length);
  expect(types[0]).toBe('IHDR');
  expect(types[types.length - 1]).toBe('IEND');
  const h = new DataView(ihdr!.buffer, ihdr!.byteOffset, 13);
  const width = h.getUint32(0);
  const height = h.getUint32(4);
  expect(ihdr![8]).toBe(8); // bit depth
  expect([ihdr![10], ihdr![11], ihdr![12]]).toEqual([0, 0, 0]);
  const colorType = ihdr![9];
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  expect(channels).toBeGreaterThan(0);
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? px[(y - 1) * stride + i - channels] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else expect(f).toBe(0);
      px[y * stride + i] = (x + pred) & 255;
    }
  }
  return { width, height, colorType, channels, pixels: px };
}

describe('PNG', () => {
  it('encodes RGB and RGBA that decode to the same pixels (zlib and stored fallback)', () => {
    const w = 37;
    const h = 23;
    for (const ch of [3, 4] as const) {
      const px = new Uint8Array(w * h * ch);
      for (let i = 0; i < px.length; i++) px[i] = (i * 7919 + ((i / 97) | 0) * 31) & 255;
      for (const deflate of [undefined, zlibStored]) {
        const png = encodePng(px, w, h, ch, { deflate });
        const d = decodePng(png);
        expect([d.width, d.height, d.channels, d.colorType]).toEqual([w, h, ch, ch === 4 ? 6 : 2]);
        expect(bytesEq(d.pixels, px)).toBe(true);
      }
    }
    // stored zlib over several 64 KiB blocks inflates back
    const big = new Uint8Array(200_000).map((_, i) => (i * 31) & 255);
    expect(bytesEq(new Uint8Array(inflateSync(zlibStored(big))), big)).toBe(true);
    expect(crc32(new Uint8Array(Buffer.from('IEND')))).toBe(0xae426082);
    expect(() => encodePng(new Uint8Array(5), 2, 2, 3)).toThrow(/needs 12 bytes/);
  });

  it('canvas rectangles and pixels land where expected', () => {
    const c = new Canvas(60, 40, '#ffffff');
    c.fillRect(2, 2, 4, 3, '#ff0000');
    expect(c.getPixel(3, 3)).toEqual([255, 0, 0, 255]);
    expect(c.getPixel(6, 3)).toEqual([255, 255, 255, 255]);
    c.setPixel(10, 10, [0, 0, 255, 128]);
    const p = c.getPixel(10, 10);
    expect(p[2]).toBe(255);
    expect(p[0]).toBeGreaterThan(120);
    expect(p[0]).toBeLessThan(135);
    const d = decodePng(c.toPng());
    expect(d.channels).toBe(3);
    expect([...d.pixels.subarray((3 * 60 + 3) * 3, (3 * 60 + 3) * 3 + 3)]).toEqual([255, 0, 0]);
  });
});

describe('image grid', () => {
  it('imageGrid places images in a grid, mapping [-1,1] to 0..255', () => {
    // 3 images 1×2×2: all −1, all 0, all 1 → 0, 128, 255
    const imgs = new Float32Array(12);
    imgs.fill(-1, 0, 4);
    imgs.fill(0, 4, 8);
    imgs.fill(1, 8, 12);
    const d = decodePng(imageGrid(imgs, [3, 1, 2, 2], 2, { scale: 3, pad: 1 }));
    // 2 per row: width = 2·(6+1)+1 = 15, 2 rows: 15
    expect([d.width, d.height]).toEqual([15, 15]);
    const at = (x: number, y: number) => d.pixels[(y * d.width + x) * d.channels];
    expect(at(1, 1)).toBe(0);
    expect(at(8 + 2, 1 + 2)).toBe(128);
    expect(at(1, 8)).toBe(255);
    expect(at(0, 0)).toBe(255); // padding background
    expect(() => imageGrid(imgs, [4, 1, 2, 2])).toThrow(/needs 16 values/);
    // RGB in [0,1]
    const rgb = new Float32Array(3 * 4).fill(0);
    rgb.fill(1, 4, 8); // green channel
    const e = decodePng(imageGrid(rgb, [1, 3, 2, 2], 8, { pad: 0, scale: 1 }));
    expect([...e.pixels.subarray(0, 3)]).toEqual([0, 255, 0]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Progress', () => {
  function fake(tty: boolean) {
    const out: string[] = [];
    let t = 0;
    const clock = { now: () => t, advance: (ms: number) => (t += ms) };
    return { out, clock, stream: { write: (s: string) => out.push(s), isTTY: tty, columns: 200 } };
  }

  it('log mode prints about every 10% and a final line', () => {
    const f = fake(false);
    const p = new Progress({ total: 200, label: 'train', stream: f.stream, now: f.clock.now });
    for (let i = 0; i < 200; i++) {
      f.clock.advance(10);
      p.tick(1, { loss: 1 / (i + 1) });
    }
    p.done();
    expect(f.out.length).toBe(10);
    expect(f.out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(f.out[0]).toMatch(/^train {3}20\/200 {2} 10% {2}100 it\/s {2}ETA 0:02 {2}loss=0\.05000\n$/);
    expect(f.out[9]).toMatch(/200\/200 {2}100% {2}100 it\/s {2}in 0:02 {2}loss=0\.005000/);
  });

  it('TTY mode rewrites one line with a bar, rate, ETA and fields', () => {
    const f = fake(true);
    const p = new Progress({ total: 50, label: 'sample', stream: f.stream, now: f.clock.now, width: 10 });
    for (let i = 0; i < 25; i++) {
      f.clock.advance(40);
      p.tick(1, { step: i });
    }
    const last = f.out[f.out.length - 1];
    expect(last.startsWith('\r')).toBe(true);
    expect(last).toContain('25/50');
    expect(last).toContain('|█████     |');
    expect(last).toContain('25.0 it/s');
    expect(last).toContain('ETA 0:01');
    expect(last).toContain('step=24');
    expect(f.out.length).toBeLessThan(20); // throttled to ~10 draws/s
    p.done();
    expect(f.out[f.out.length - 1]).toBe('\n');
    p.done();
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('log mode also prints when a minute passes without a line (a long job still shows it moves), and not much more often', () => {
    const f = fake(false);
    const p = new Progress({ total: 1000, label: 'bpd', stream: f.stream, now: f.clock.now });
    const times: number[] = [];
    let t = 0;
    for (let i = 0; i < 1000; i++) {
      const dt = 1000 + ((i * 7919) % 13) * 100; // 1.0–2.2 s a tick, uneven: 10 % takes ~27 min
      f.clock.advance(dt);
      t += dt;
      const before = f.out.length;
      p.tick(1);
      if (f.out.length > before) times.push(t);
    }
    p.done();
    const gaps = times.slice(1).map((x, i) => x - times[i]);
    expect(Math.max(...gaps)).toBeLessThan(60_000 + 2300); // one tick past the minute at most
    expect(times.length).toBeGreaterThan(t / 60_000 - 2);
    expect(times.length).toBeLessThan(t / 60_000 + 12);
    expect(f.out.every((l) => /^bpd +\d+\/1000 +\d+% .*\n$/.test(l))).toBe(true);
    expect(f.out[f.out.length - 1]).toMatch(/1000\/1000 +100% .* in /);
  });

  it('a resumed run counts earlier steps in the bar but not in the rate or ETA', () => {
    const f = fake(false);
    const p = new Progress({ total: 4000, label: 'train', stream: f.stream, now: f.clock.now, logIntervalMs: Infinity });
    f.clock.advance(5);
    p.resumeAt(1750); // restarts the clock: the 5 ms before do not count
    for (let i = 0; i < 250; i++) {
      f.clock.advance(500); // 2 steps/s
      p.tick(1);
    }
    expect(f.out.length).toBe(1); // only the 50 % mark is crossed (40 % was passed before the resume)
    expect(f.out[0]).toMatch(/^train {2}2000\/4000 {2} 50% {2}2\.0 it\/s {2}ETA 16:40\n$/);
    const q = new Progress({ total: 10, stream: f.stream, now: f.clock.now, initial: 25 });
    expect(q.render(false)).toMatch(/^10\/10 {2}100% {2}- it\/s/); // clamped to the total, no division by zero
  });
});
