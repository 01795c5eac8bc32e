// Image grids (like torchvision's make_grid) as raw pixels: no chart library adds anything here,
// so the own PNG encoder (png.ts) writes them. Pure TypeScript; a title is drawn by the caller
// into the band left free at the top (src/io/render_node.ts does it with resvg).

import { Canvas, type Color, type PngOptions } from './png.js';

export interface ImageGridOptions {
  /** Value range of the input; default: '[-1,1]' if any value < -0.01, else '[0,1]'. */
  range?: '[-1,1]' | '[0,1]';
  /** Integer upscaling of each image (default: so a cell is at least ~64 px). */
  scale?: number;
  /** Pixels between images (default 2). */
  pad?: number;
  background?: Color;
  png?: PngOptions;
}

/** Size of the grid without a title band. */
export function gridLayout(shape: readonly [number, number, number, number], nrow: number, opts: ImageGridOptions = {}) {
  const [n, , h, w] = shape;
  const cols = Math.max(1, Math.min(nrow, n));
  const rows = Math.max(1, Math.ceil(n / cols));
  const scale = Math.max(1, Math.round(opts.scale ?? Math.ceil(64 / Math.max(h, w))));
  const pad = opts.pad ?? 2;
  return { cols, rows, scale, pad, width: cols * (w * scale + pad) + pad, height: rows * (h * scale + pad) + pad };
}

/**
 * The grid on a canvas, `nrow` images per row; c = 1 (grey), 3 (RGB) or 4 (RGB, alpha ignored).
 * `top` pixels are left free above it; the canvas is at least `minWidth` wide, the grid centred.
 */
export function gridCanvas(
  images: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  nrow = 8,
  opts: ImageGridOptions = {},
  band: { top?: number; minWidth?: number } = {},
): Canvas {
  const [n, ch, h, w] = shape;
  if (n * ch * h * w !== images.length) {
    throw new Error(`imageGrid: shape [${shape.join(', ')}] needs ${n * ch * h * w} values, got ${images.length}`);
  }
  if (ch !== 1 && ch !== 3 && ch !== 4) throw new Error(`imageGrid: ${ch} channels; expected 1, 3 or 4`);
  let range = opts.range;
  if (!range) {
    range = '[0,1]';
    for (let i = 0; i < images.length; i++) {
      if (images[i] < -0.01) {
        range = '[-1,1]';
        break;
      }
    }
  }
  const L = gridLayout(shape, nrow, opts);
  const s = L.scale;
  const top = band.top ?? 0;
  const c = new Canvas(Math.max(L.width, band.minWidth ?? 0), top + L.height, opts.background ?? '#ffffff');
  const off = Math.floor((c.width - L.width) / 2);
  const to8 = (v: number) => {
    const u = range === '[-1,1]' ? (v + 1) / 2 : v;
    return Number.isFinite(u) ? Math.round(Math.min(Math.max(u, 0), 1) * 255) : 0;
  };
  const hw = h * w;
  for (let k = 0; k < n; k++) {
    const gx = off + L.pad + (k % L.cols) * (w * s + L.pad);
    const gy = top + L.pad + Math.floor(k / L.cols) * (h * s + L.pad);
    const base = k * ch * hw;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const r = to8(images[base + p]);
        const g = ch === 1 ? r : to8(images[base + hw + p]);
        const b = ch === 1 ? r : to8(images[base + 2 * hw + p]);
        for (let dy = 0; dy < s; dy++) {
          for (let dx = 0; dx < s; dx++) {
            const i = ((gy + y * s + dy) * c.width + gx + x * s + dx) * 4;
            c.data[i] = r;
            c.data[i + 1] = g;
            c.data[i + 2] = b;
            c.data[i + 3] = 255;
          }
        }
      }
    }
  }
  return c;
}
