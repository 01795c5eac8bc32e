// Node only: draws the chart specs of charts.ts headless — Vega-Lite compiles a spec to Vega, Vega
// lays it out and writes SVG, resvg rasterises the SVG to PNG — and titles image grids the same way.
// Text is laid out with the widths of the font resvg draws with (DejaVu Sans, else Liberation Sans;
// Debian's fonts-dejavu-core), so titles, labels and legends take the room they need. Reached from
// src/cli and src/node.ts only, never from the browser entry.

import { existsSync, readFileSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import type { TopLevelSpec } from './charts.js';
import { CHART_FONT } from './charts.js';
import { parseFontMetrics, type FontMetrics } from './font_metrics.js';
import { gridCanvas, gridLayout, type ImageGridOptions } from './grid.js';

// ---------------------------------------------------------------------------------------------
// fonts

const FONT_DIRS = [
  '/usr/share/fonts/truetype/dejavu',
  '/usr/share/fonts/dejavu',
  '/usr/share/fonts/TTF',
  '/usr/share/fonts/truetype/liberation',
  '/usr/share/fonts/liberation',
  '/usr/local/share/fonts',
  '/Library/Fonts',
  'C:\\Windows\\Fonts',
];
const FAMILIES = [
  { family: 'DejaVu Sans', regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf' },
  { family: 'Liberation Sans', regular: 'LiberationSans-Regular.ttf', bold: 'LiberationSans-Bold.ttf' },
];

interface Fonts {
  family: string | null;
  files: string[];
  regular: FontMetrics | null;
  bold: FontMetrics | null;
}

let fonts: Fonts | undefined;

/**
 * The font charts are drawn with: DejaVu Sans or Liberation Sans from the usual folders (or the
 * .ttf files named in SCOREGPU_CHART_FONT, regular[:bold]). Without either, resvg falls back to
 * any system font and Vega to its width estimate; a one-line warning says how to fix it.
 */
export function chartFonts(): Fonts {
  if (fonts) return fonts;
  const env = process.env.SCOREGPU_CHART_FONT;
  const pick = (): { family: string | null; regular: string; bold?: string } | null => {
    if (env) {
      const [regular, bold] = env.split(':');
      if (existsSync(regular)) return { family: null, regular, bold: bold && existsSync(bold) ? bold : undefined };
    }
    for (const f of FAMILIES) {
      for (const d of FONT_DIRS) {
        const r = `${d}/${f.regular}`;
        if (!existsSync(r)) continue;
        const b = `${d}/${f.bold}`;
        return { family: f.family, regular: r, bold: existsSync(b) ? b : undefined };
      }
    }
    return null;
  };
  const p = pick();
  if (!p) {
    process.stderr.write('scoregpu: no DejaVu Sans or Liberation Sans font found; chart text uses whatever font resvg finds (Debian: apt-get install fonts-dejavu-core)\n');
    fonts = { family: null, files: [], regular: null, bold: null };
    return fonts;
  }
  const load = (f?: string) => {
    if (!f) return null;
    try {
      return parseFontMetrics(new Uint8Array(readFileSync(f)));
    } catch {
      return null;
    }
  };
  const regular = load(p.regular);
  fonts = { family: p.family, files: [p.regular, ...(p.bold ? [p.bold] : [])], regular, bold: load(p.bold) ?? regular };
  return fonts;
}

function resvgOptions(): ResvgRenderOptions {
  const f = chartFonts();
  return {
    font: f.files.length
      ? { loadSystemFonts: false, fontFiles: f.files, defaultFontFamily: f.family ?? undefined, sansSerifFamily: f.family ?? undefined }
      : { loadSystemFonts: true },
  };
}

/** Width of `text` in the chart font (or Vega's own estimate when no font file was found). */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const f = chartFonts();
  const m = bold ? f.bold : f.regular;
  return m ? m.width(text, fontSize) : 0.8 * text.length * fontSize;
}

// ---------------------------------------------------------------------------------------------
// charts

type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
let libs: Promise<{ vega: Vega; vl: VegaLite }> | undefined;

/** vega and vega-lite, loaded on first use (≈ 0.25 s), with Vega's text measure set to the chart font. */
function loadVega(): Promise<{ vega: Vega; vl: VegaLite }> {
  libs ??= (async () => {
    const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
    const f = chartFonts();
    if (f.regular) {
      // Vega's documented hook for headless measuring (as vl-convert does): width(item, text)
      const tm = (vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics;
      tm.width = (item, text) => {
        const s = String(text ?? item.text ?? '').trim();
        const size = item.fontSize != null ? +item.fontSize || 0 : 11;
        const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600;
        const w = textWidth(s, size, bold);
        return item.limit && item.limit > 0 ? Math.min(w, item.limit) : w;
      };
    }
    return { vega, vl };
  })();
  return libs;
}

interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: string | number;
  limit?: number;
}

export interface RenderOptions {
  /** Throw on any Vega-Lite or Vega warning (tests do); otherwise warnings go to stderr. */
  strict?: boolean;
}

function report(warnings: string[], strict: boolean | undefined): void {
  if (!warnings.length) return;
  const msg = warnings.join('; ');
  if (strict) throw new Error(msg);
  process.stderr.write(`scoregpu: chart warning: ${msg}\n`);
}

/** Vega-Lite → Vega. */
async function compile(spec: TopLevelSpec, strict?: boolean) {
  const { vega, vl } = await loadVega();
  const warnings: string[] = [];
  const logger = {
    level: (_?: number) => logger as never,
    error: (...a: unknown[]) => {
      throw new Error(`vega-lite: ${a.join(' ')}`);
    },
    warn: (...a: unknown[]) => {
      warnings.push(`vega-lite: ${a.join(' ')}`);
      return logger as never;
    },
    info: () => logger as never,
    debug: () => logger as never,
  };
  const compiled = vl.compile(spec, { logger: logger as never }).spec;
  report(warnings, strict);
  return { vega, compiled };
}

/** The chart as an SVG document (the font stack of charts.ts; white background). */
export async function renderChartSvg(spec: TopLevelSpec, opts: RenderOptions = {}): Promise<string> {
  const { vega, compiled } = await compile(spec, opts.strict);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  const warnings: string[] = [];
  view.logger({
    level: () => view.logger() as never,
    error: (...a: unknown[]) => warnings.push(`vega: ${a.join(' ')}`),
    warn: (...a: unknown[]) => warnings.push(`vega: ${a.join(' ')}`),
    info: () => 0,
    debug: () => 0,
  } as never);
  try {
    const svg = await view.toSVG();
    report(warnings, opts.strict);
    return svg;
  } finally {
    view.finalize();
  }
}

export interface ChartPngOptions extends RenderOptions {
  /** Pixels per SVG unit (default 2: sharp on high-density screens and in the README). */
  scale?: number;
}

/** The chart as PNG bytes (RGBA, opaque white background). */
export async function renderChartPng(spec: TopLevelSpec, opts: ChartPngOptions = {}): Promise<Uint8Array> {
  return svgToPng(await renderChartSvg(spec, opts), opts.scale ?? 2);
}

/** Rasterise an SVG document with resvg and the chart font. */
export function svgToPng(svg: string, scale = 1): Uint8Array {
  const r = new Resvg(svg, { ...resvgOptions(), fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale }, background: 'white' });
  const png = r.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

// ---------------------------------------------------------------------------------------------
// image grids with a title

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Break text at spaces into lines no wider than `width` in the chart font. */
export function wrapToWidth(text: string, width: number, fontSize: number, bold = false): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = cur ? `${cur} ${word}` : word;
    if (!cur || textWidth(next, fontSize, bold) <= width) cur = next;
    else {
      lines.push(cur);
      cur = word;
    }
  }
  if (cur) lines.push(cur);
  return lines;
}

/** Centred text lines drawn by resvg on white: RGBA pixels of a width×height band. */
export function textBand(lines: string[], width: number, fontSize: number, opts: { bold?: boolean; pad?: number } = {}): { rgba: Uint8Array; width: number; height: number } {
  const pad = opts.pad ?? Math.round(fontSize * 0.6);
  const lh = Math.round(fontSize * 1.3);
  const height = pad * 2 + lh * lines.length;
  const text = lines
    .map((l, i) => `<text x="${width / 2}" y="${pad + lh * i + fontSize}" text-anchor="middle">${esc(l)}</text>`)
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<g font-family="${esc(CHART_FONT)}" font-size="${fontSize}" font-weight="${opts.bold ? 'bold' : 'normal'}" fill="#222222">${text}</g></svg>`;
  const img = new Resvg(svg, { ...resvgOptions(), fitTo: { mode: 'original' } }).render();
  return { rgba: new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength), width: img.width, height: img.height };
}

export interface TitledGridOptions extends ImageGridOptions {
  /** Drawn above the grid in the chart font, wrapped to the grid's width. */
  title?: string;
  /** Title size in pixels (default 14, 13 for narrow grids). */
  titleSize?: number;
}

/**
 * A grid of images (like torchvision's make_grid) as PNG bytes: `nrow` images per row, c = 1
 * (grey) or 3 (RGB); pixels through the own encoder (png.ts), the title through resvg.
 */
export function imageGrid(images: ArrayLike<number>, shape: readonly [number, number, number, number], nrow = 8, opts: TitledGridOptions = {}): Uint8Array {
  if (!opts.title) return gridCanvas(images, shape, nrow, opts).toPng(opts.png);
  const width = Math.max(gridLayout(shape, nrow, opts).width, 240);
  const size = opts.titleSize ?? (width < 300 ? 13 : 14);
  const band = textBand(wrapToWidth(opts.title, width - 16, size), width, size, { pad: 7 });
  const c = gridCanvas(images, shape, nrow, opts, { top: band.height, minWidth: width });
  c.drawImage(band.rgba, band.width, band.height, 0, 0);
  return c.toPng(opts.png);
}
