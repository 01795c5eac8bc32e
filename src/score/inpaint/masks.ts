// Inpainting masks: 1 where the pixel is known (kept from the given image), 0 where the sampler
// fills it in — score_sde's and RePaint's convention. One H×W plane, shared by every channel.
import { readPngGrey } from '../../io/png_decode.js';
import { FileError } from '../../gpu/errors.js';
import { Rng } from '../../data/rng.js';

export const HALVES = ['left', 'right', 'top', 'bottom'] as const;
export type Half = (typeof HALVES)[number];

export type MaskSpec =
  /** A centred box of `size` × the image's sides hidden (default 0.5). */
  | { kind: 'box'; size?: number }
  /** The named half hidden (default 'bottom': the model completes the lower half from the upper). */
  | { kind: 'half'; side?: Half }
  /** Each pixel hidden with probability `fraction` (default 0.5), by a seeded generator. */
  | { kind: 'random'; fraction?: number; seed?: number }
  /** A PNG of the image's size: white (≥ 0.5) known, black to fill; `invert` swaps them. */
  | { kind: 'file'; path: string; invert?: boolean };

/** The H×W mask plane (1 known, 0 to fill). */
export function makeMask(spec: MaskSpec, h: number, w: number): Float32Array {
  const m = new Float32Array(h * w).fill(1);
  switch (spec.kind) {
    case 'box': {
      const f = spec.size ?? 0.5;
      if (!(f > 0 && f <= 1)) throw new Error(`box mask: size must be in (0, 1], got ${f}`);
      const bh = Math.max(1, Math.round(h * f)), bw = Math.max(1, Math.round(w * f));
      const y0 = Math.floor((h - bh) / 2), x0 = Math.floor((w - bw) / 2);
      for (let y = y0; y < y0 + bh; y++) m.fill(0, y * w + x0, y * w + x0 + bw);
      return m;
    }
    case 'half': {
      const side = spec.side ?? 'bottom';
      if (!HALVES.includes(side)) throw new Error(`half mask: unknown side '${side}'; valid: ${HALVES.join(', ')}`);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const hide = side === 'left' ? x < w / 2 : side === 'right' ? x >= w / 2 : side === 'top' ? y < h / 2 : y >= h / 2;
          if (hide) m[y * w + x] = 0;
        }
      }
      return m;
    }
    case 'random': {
      const f = spec.fraction ?? 0.5;
      if (!(f >= 0 && f <= 1)) throw new Error(`random mask: fraction must be in [0, 1], got ${f}`);
      const r = new Rng(spec.seed ?? 0);
      for (let i = 0; i < m.length; i++) if (r.uniform() < f) m[i] = 0;
      return m;
    }
    case 'file': {
      const img = readPngGrey(spec.path);
      if (img.width !== w || img.height !== h) throw new FileError(spec.path, `mask is ${img.width}×${img.height}, the model's images are ${w}×${h}`);
      for (let i = 0; i < m.length; i++) m[i] = (img.data[i] >= 0.5) !== !!spec.invert ? 1 : 0;
      return m;
    }
    default:
      throw new Error(`unknown mask kind '${(spec as { kind: string }).kind}'; valid: box, half, random, or a PNG file`);
  }
}

/** Parse the CLI's --mask: box | half | random | FILE.png. */
export function parseMaskSpec(s: string, o: { side?: string; fraction?: number; size?: number; seed?: number; invert?: boolean } = {}): MaskSpec {
  if (s === 'box') return { kind: 'box', size: o.size };
  if (s === 'half') return { kind: 'half', side: o.side as Half | undefined };
  if (s === 'random') return { kind: 'random', fraction: o.fraction, seed: o.seed };
  if (/\.png$/i.test(s)) return { kind: 'file', path: s, invert: o.invert };
  throw new Error(`unknown --mask '${s}'; valid: box, half, random, or a PNG file (white = known)`);
}
