// Reading PNG files as grey images (inpainting's --image and --mask). A small decoder of the
// format's common cases: bit depths 1–16, colour types grey, grey + alpha, RGB, RGBA and palette,
// the five scanline filters, no interlacing; the zlib stream is inflated by node:zlib (Node only).
// Colour becomes grey by Rec. 601 luma (0.299 R + 0.587 G + 0.114 B); alpha composites over black.
// Every failure is a FileError naming the file.
import { nodeBuiltin } from './builtin.js';
import { FileError } from '../gpu/errors.js';

export interface GreyImage {
  width: number;
  height: number;
  /** Row-major grey values in [0, 1]. */
  data: Float32Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Decode PNG bytes to grey values in [0, 1]. `name` is the file (for messages). */
export function decodePngGrey(bytes: Uint8Array, name = '<png bytes>'): GreyImage {
  const bad = (what: string): never => {
    throw new FileError(name, what);
  };
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) bad('not a PNG file (bad signature)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8, width = 0, height = 0, depth = 0, colour = -1;
  let palette: Uint8Array | null = null, trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = dv.getUint32(pos), type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + len > bytes.length) bad(`truncated ${type} chunk`);
    const body = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(pos + 8);
      height = dv.getUint32(pos + 12);
      depth = body[8];
      colour = body[9];
      if (body[12] !== 0) bad('interlaced PNGs are not supported (save it without interlacing)');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colour];
  if (!width || !height || !channels) bad(`unsupported or missing image header (colour type ${colour})`);
  if (![1, 2, 4, 8, 16].includes(depth) || (depth < 8 && colour !== 0 && colour !== 3) || (depth === 16 && colour === 3)) bad(`unsupported bit depth ${depth} for colour type ${colour}`);
  if (colour === 3 && !palette) bad('palette image without a PLTE chunk');
  if (!idat.length) bad('no image data (IDAT)');
  const zlib = nodeBuiltin('node:zlib');
  if (!zlib) throw new FileError(name, 'decoding PNG needs Node (node:zlib)');
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  idat.reduce((o, c) => (joined.set(c, o), o + c.length), 0);
  const stride = Math.ceil((width * channels * depth) / 8), bpp = Math.max(1, (channels * depth) / 8);
  let raw: Uint8Array;
  try {
    const b = zlib.inflateSync(joined, { maxOutputLength: (stride + 1) * height + 1 });
    raw = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    return bad(`corrupt image data (${(e as Error).message})`);
  }
  if (raw.length < (stride + 1) * height) bad(`image data too short (${raw.length} bytes for ${width}×${height})`);
  // undo the scanline filters (PNG spec §9): 0 none, 1 sub, 2 up, 3 average, 4 Paeth
  const pix = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pix.subarray(y * stride, (y + 1) * stride), up = y ? pix.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0, c = up && i >= bpp ? up[i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (f !== 0) bad(`unknown scanline filter ${f} in row ${y}`);
      row[i] = (src[i] + pred) & 255;
    }
  }
  const max = 2 ** depth - 1;
  const sample = (y: number, k: number): number => {
    // the k-th sample of row y at the image's bit depth
    const row = y * stride;
    if (depth === 16) return (pix[row + 2 * k] << 8) | pix[row + 2 * k + 1];
    if (depth === 8) return pix[row + k];
    const bit = k * depth, byte = pix[row + (bit >> 3)];
    return (byte >> (8 - depth - (bit & 7))) & max;
  };
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (j: number) => sample(y, x * channels + j) / max;
      let g: number, alpha = 1;
      switch (colour) {
        case 0: g = s(0); break;
        case 4: g = s(0); alpha = s(1); break;
        case 2: g = 0.299 * s(0) + 0.587 * s(1) + 0.114 * s(2); break;
        case 6: g = 0.299 * s(0) + 0.587 * s(1) + 0.114 * s(2); alpha = s(3); break;
        default: {
          const i = sample(y, x);
          if (3 * i + 2 >= palette!.length) bad(`palette index ${i} outside the palette`);
          g = (0.299 * palette![3 * i] + 0.587 * palette![3 * i + 1] + 0.114 * palette![3 * i + 2]) / 255;
          if (trns && i < trns.length) alpha = trns[i] / 255;
        }
      }
      data[y * width + x] = g * alpha;
    }
  }
  return { width, height, data };
}

/** Read a PNG file as grey values in [0, 1]. */
export function readPngGrey(path: string): GreyImage {
  const fs = nodeBuiltin('node:fs');
  if (!fs) throw new FileError(path, 'reading files needs Node');
  let b: Uint8Array;
  try {
    b = fs.readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new FileError(path, err.code === 'ENOENT' ? 'no such PNG file' : `cannot read (${err.message})`);
  }
  return decodePngGrey(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), path);
}
