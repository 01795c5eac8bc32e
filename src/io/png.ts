// PNG encoding (8-bit RGB / RGBA, per-row adaptive filters) and a plain RGBA raster for image
// grids (charts are Vega-Lite specs: src/io/charts.ts). Pure TypeScript: compression uses node:zlib when running in Node, otherwise a
// stored-blocks (uncompressed) zlib stream, which every PNG reader accepts. Pass your own
// `deflate` (e.g. a wasm or streaming one) to override.

import { nodeBuiltin } from './builtin.js';

// ---------------------------------------------------------------------------------------------
// checksums and zlib framing

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG chunks use). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Adler-32 (zlib's checksum). */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream (RFC 1950) of stored (uncompressed) deflate blocks: valid everywhere, no compression. */
export function zlibStored(data: Uint8Array): Uint8Array {
  const nBlocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + data.length + 5 * nBlocks + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < nBlocks; b++) {
    const s = b * 65535;
    const len = Math.min(65535, data.length - s);
    out[o++] = b === nBlocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(s, s + len), o);
    o += len;
  }
  const ad = adler32(data);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out;
}

/** A function producing a zlib (RFC 1950) stream. */
export type Deflate = (data: Uint8Array) => Uint8Array;

/** node:zlib's deflateSync when available, else the stored-blocks fallback. */
export function defaultDeflate(): Deflate {
  const z = nodeBuiltin('node:zlib');
  if (z) {
    return (d) => {
      const b = z.deflateSync(d, { level: 6 });
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
  }
  return zlibStored;
}

// ---------------------------------------------------------------------------------------------
// PNG

export interface PngOptions {
  deflate?: Deflate;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Encode 8-bit pixels (row-major, `channels` = 3 for RGB or 4 for RGBA) as a PNG file. Each row
 * gets the filter (none/sub/up/average/paeth) with the smallest sum of absolute values.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 3 | 4 = 4, opts: PngOptions = {}): Uint8Array {
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new Error(`encodePng: bad size ${width}×${height}`);
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new Error(`encodePng: ${width}×${height}×${channels} needs ${stride * height} bytes, got ${pixels.length}`);
  }
  const raw = new Uint8Array((stride + 1) * height);
  const cand = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    let best = 0;
    let bestScore = Infinity;
    for (let f = 0; f < 5; f++) {
      const out = cand[f];
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? row[i - channels] : 0;
        const b = prev ? prev[i] : 0;
        const c = prev && i >= channels ? prev[i - channels] : 0;
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
        const v = (row[i] - pred) & 0xff;
        out[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    raw[y * (stride + 1)] = best;
    raw.set(cand[best], y * (stride + 1) + 1);
  }
  const idat = (opts.deflate ?? defaultDeflate())(raw);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 4 ? 6 : 2; // colour type: RGBA / RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter method
  ihdr[12] = 0; // no interlace
  const chunks: [string, Uint8Array][] = [
    ['IHDR', ihdr],
    ['IDAT', idat],
    ['IEND', new Uint8Array(0)],
  ];
  const total = 8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0);
  const png = new Uint8Array(total);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  const pv = new DataView(png.buffer);
  let o = 8;
  for (const [type, d] of chunks) {
    pv.setUint32(o, d.length);
    for (let i = 0; i < 4; i++) png[o + 4 + i] = type.charCodeAt(i);
    png.set(d, o + 8);
    pv.setUint32(o + 8 + d.length, crc32(png, o + 4, o + 8 + d.length));
    o += 12 + d.length;
  }
  return png;
}

// ---------------------------------------------------------------------------------------------
// colours

/** '#rgb', '#rrggbb', '#rrggbbaa', or [r, g, b] / [r, g, b, a] with 0..255 channels. */
export type Color = string | readonly [number, number, number] | readonly [number, number, number, number];
export type RGBA = [number, number, number, number];

const colorCache = new Map<string, RGBA>();

export function parseColor(c: Color): RGBA {
  if (typeof c !== 'string') return [c[0], c[1], c[2], c.length > 3 ? (c as readonly number[])[3] : 255];
  const hit = colorCache.get(c);
  if (hit) return hit;
  const v = parseHex(c);
  if (colorCache.size < 1024) colorCache.set(c, v);
  return v;
}

function parseHex(c: string): RGBA {
  let h = c.trim().replace(/^#/, '');
  if (h.length === 3) h = h.split('').map((x) => x + x).join('');
  if (!/^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(h)) throw new Error(`bad colour '${c}' (use #rrggbb)`);
  const v = (i: number) => parseInt(h.slice(i, i + 2), 16);
  return [v(0), v(2), v(4), h.length === 8 ? v(6) : 255];
}

// ---------------------------------------------------------------------------------------------
// Canvas

/** An RGBA raster. Coordinates are pixels; (0, 0) is the top-left corner. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  /** Row-major RGBA, 8 bits per channel. */
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: Color = '#ffffff') {
    this.width = Math.round(width);
    this.height = Math.round(height);
    this.data = new Uint8Array(this.width * this.height * 4);
    this.fill(background);
  }

  /** Overwrite every pixel. */
  fill(color: Color): this {
    const [r, g, b, a] = parseColor(color);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = r;
      this.data[i + 1] = g;
      this.data[i + 2] = b;
      this.data[i + 3] = a;
    }
    return this;
  }

  /** Blend `color` over pixel (x, y) with coverage `alpha` in [0, 1] (times the colour's own alpha). */
  blend(x: number, y: number, color: RGBA, alpha = 1): void {
    x |= 0;
    y |= 0;
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const a = Math.min(Math.max(alpha, 0), 1) * (color[3] / 255);
    if (a <= 0) return;
    const i = (y * this.width + x) * 4;
    const d = this.data;
    const da = d[i + 3] / 255;
    const oa = a + da * (1 - a);
    if (oa <= 0) return;
    for (let k = 0; k < 3; k++) d[i + k] = Math.round((color[k] * a + d[i + k] * da * (1 - a)) / oa);
    d[i + 3] = Math.round(oa * 255);
  }

  /** Set pixel (x, y), blending by the colour's alpha. */
  setPixel(x: number, y: number, color: Color): this {
    this.blend(x, y, parseColor(color));
    return this;
  }

  getPixel(x: number, y: number): RGBA {
    const i = (y * this.width + x) * 4;
    return [this.data[i], this.data[i + 1], this.data[i + 2], this.data[i + 3]];
  }

  /** Filled axis-aligned rectangle; fractional edges are anti-aliased. */
  fillRect(x: number, y: number, w: number, h: number, color: Color): this {
    const c = parseColor(color);
    const x0 = Math.max(Math.floor(x), 0);
    const y0 = Math.max(Math.floor(y), 0);
    const x1 = Math.min(Math.ceil(x + w), this.width);
    const y1 = Math.min(Math.ceil(y + h), this.height);
    for (let py = y0; py < y1; py++) {
      const cy = Math.min(py + 1, y + h) - Math.max(py, y);
      for (let px = x0; px < x1; px++) {
        const cx = Math.min(px + 1, x + w) - Math.max(px, x);
        this.blend(px, py, c, cx * cy);
      }
    }
    return this;
  }

  /** Copy an RGBA image (w×h) with its top-left corner at (x, y), optionally scaled by an integer. */
  drawImage(rgba: Uint8Array, w: number, h: number, x: number, y: number, scale = 1): this {
    for (let j = 0; j < h * scale; j++) {
      for (let i = 0; i < w * scale; i++) {
        const si = (Math.floor(j / scale) * w + Math.floor(i / scale)) * 4;
        this.blend(x + i, y + j, [rgba[si], rgba[si + 1], rgba[si + 2], rgba[si + 3]]);
      }
    }
    return this;
  }

  /** Encode as PNG (RGBA when any pixel is translucent, else RGB). */
  toPng(opts: PngOptions = {}): Uint8Array {
    let opaque = true;
    for (let i = 3; i < this.data.length; i += 4) {
      if (this.data[i] !== 255) {
        opaque = false;
        break;
      }
    }
    if (!opaque) return encodePng(this.data, this.width, this.height, 4, opts);
    const rgb = new Uint8Array(this.width * this.height * 3);
    for (let i = 0, j = 0; i < this.data.length; i += 4, j += 3) {
      rgb[j] = this.data[i];
      rgb[j + 1] = this.data[i + 1];
      rgb[j + 2] = this.data[i + 2];
    }
    return encodePng(rgb, this.width, this.height, 3, opts);
  }
}
