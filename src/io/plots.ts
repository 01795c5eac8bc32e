// Research-style figures as PNG bytes: scatter (samples over data), score fields (arrows),
// density heatmaps, loss curves, image grids. Built on the Canvas in png.ts; pure TypeScript.

import { Canvas, parseColor, type Color, type PngOptions } from './png.js';

/** matplotlib's tab10 palette. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const INK = '#222222';
const GRID = '#e6e6e6';
const FRAME = '#444444';

export interface PlotOptions {
  title?: string;
  /** Square side in pixels, or [width, height]. Default 640. */
  size?: number | [number, number];
  xlim?: [number, number];
  ylim?: [number, number];
  xlabel?: string;
  ylabel?: string;
  png?: PngOptions;
}

// ---------------------------------------------------------------------------------------------
// axes

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(count - 1, 1);
  const e = Math.floor(Math.log10(raw));
  let best: number[] = [];
  let bestErr = Infinity;
  for (let k = e - 1; k <= e + 1; k++) {
    for (const m of [1, 2, 2.5, 5]) {
      const step = m * 10 ** k;
      const ticks: number[] = [];
      for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) ticks.push(i === 0 ? 0 : i * step);
      if (ticks.length < 2 || ticks.length > 2 * count) continue;
      // Prefer counts near the target; 2.5 only when it clearly wins (its labels are longer).
      const err = Math.abs(ticks.length - count) + (m === 2.5 ? 1 : 0) + (ticks.length < 3 ? 2 : 0);
      if (err < bestErr) {
        bestErr = err;
        best = ticks;
      }
    }
  }
  return best.length ? best : [lo, hi];
}

/** Tick values for a log axis over [lo, hi] (lo > 0): decades, plus 2× and 5× when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const decades = b - a;
  const mults = decades <= 1 ? [1, 2, 3, 5] : decades <= 3 ? [1, 2, 5] : [1];
  const stride = decades > 8 ? Math.ceil(decades / 8) : 1;
  const out: number[] = [];
  for (let e = a; e <= b; e++) {
    if ((e - a) % stride) continue;
    for (const m of mults) {
      const v = m * 10 ** e;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** Short label for a tick value given the spacing of its neighbours. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const av = Math.abs(v);
  if (av >= 1e5 || av < 1e-3) {
    const e = Math.floor(Math.log10(av));
    const m = v / 10 ** e;
    const ms = Math.abs(m - Math.round(m)) < 1e-6 ? String(Math.round(m)) : m.toFixed(1);
    return ms === '1' ? `1e${e}` : ms === '-1' ? `-1e${e}` : `${ms}e${e}`;
  }
  let dec = 0;
  const st = Math.abs(step) || 1;
  while (dec < 6 && Math.abs(st * 10 ** dec - Math.round(st * 10 ** dec)) > 1e-6 * st * 10 ** dec) dec++;
  let s = v.toFixed(dec);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

interface Axes {
  c: Canvas;
  /** Plot box in pixels. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  xlim: [number, number];
  ylim: [number, number];
  logY: boolean;
  sx: (v: number) => number;
  sy: (v: number) => number;
  font: number;
}

function canvasSize(size: PlotOptions['size']): [number, number] {
  if (Array.isArray(size)) return [size[0], size[1]];
  return [size ?? 640, size ?? 640];
}

function fontScale(w: number, h: number): number {
  return Math.min(w, h) >= 420 ? 2 : 1;
}

/** Draw the frame, grid, ticks, labels and title; return the coordinate mapping. */
function makeAxes(
  c: Canvas,
  opts: PlotOptions,
  xlim: [number, number],
  ylim: [number, number],
  extra: { logY?: boolean; rightMargin?: number; noGrid?: boolean; equalAspect?: boolean } = {},
): Axes {
  const font = fontScale(c.width, c.height);
  const logY = extra.logY ?? false;
  const yTicks = logY ? logTicks(ylim[0], ylim[1]) : niceTicks(ylim[0], ylim[1], Math.max(3, Math.min(9, Math.floor((c.height - 80 * font) / (35 * font)))));
  const xTicks = niceTicks(xlim[0], xlim[1], Math.max(3, Math.min(10, Math.floor((c.width - 80 * font) / (40 * font)))));
  const ystep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  const xstep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  const yLabels = yTicks.map((v) => (logY ? formatTick(v, v) : formatTick(v, ystep)));
  const xLabels = xTicks.map((v) => formatTick(v, xstep));
  const maxYLab = Math.max(0, ...yLabels.map((s) => Canvas.textWidth(s, font)));
  const th = Canvas.textHeight(font);
  const left = Math.round(10 * font + maxYLab + (opts.ylabel ? th + 8 * font : 0) + 6);
  const bottom = Math.round(th + 12 * font + (opts.xlabel ? th + 8 * font : 0) + 4);
  const top = Math.round(opts.title ? Canvas.textHeight(font + 1) + 16 * font : 10 * font);
  const right = Math.round(extra.rightMargin ?? 14 * font);
  let x0 = left;
  let y0 = top;
  let x1 = c.width - right;
  let y1 = c.height - bottom;
  if (extra.equalAspect) {
    // One data unit the same number of pixels on both axes: shrink the box, keep it centred.
    const want = (ylim[1] - ylim[0]) / (xlim[1] - xlim[0]);
    const bw = x1 - x0;
    const bh = y1 - y0;
    if (bh / bw > want) {
      const nh = bw * want;
      y0 += (bh - nh) / 2;
      y1 = y0 + nh;
    } else {
      const nw = bh / want;
      x0 += (bw - nw) / 2;
      x1 = x0 + nw;
    }
    x0 = Math.round(x0);
    x1 = Math.round(x1);
    y0 = Math.round(y0);
    y1 = Math.round(y1);
  }
  const tx = (v: number) => x0 + ((v - xlim[0]) / (xlim[1] - xlim[0])) * (x1 - x0);
  const ly0 = logY ? Math.log10(ylim[0]) : ylim[0];
  const ly1 = logY ? Math.log10(ylim[1]) : ylim[1];
  const ty = (v: number) => y1 - (((logY ? Math.log10(v) : v) - ly0) / (ly1 - ly0)) * (y1 - y0);
  // grid
  if (!extra.noGrid) {
    for (const v of xTicks) c.fillRect(Math.round(tx(v)), y0, 1, y1 - y0, GRID);
    for (const v of yTicks) c.fillRect(x0, Math.round(ty(v)), x1 - x0, 1, GRID);
  }
  // ticks and labels
  const tick = 5 * font;
  xTicks.forEach((v, i) => {
    const px = Math.round(tx(v));
    c.fillRect(px, y1, 1, tick, FRAME);
    c.text(px + 0.5, y1 + tick + 4 * font, xLabels[i], INK, { scale: font, align: 'center' });
  });
  yTicks.forEach((v, i) => {
    const py = Math.round(ty(v));
    c.fillRect(x0 - tick, py, tick, 1, FRAME);
    c.text(x0 - tick - 4 * font, py + 0.5, yLabels[i], INK, { scale: font, align: 'right', baseline: 'middle' });
  });
  if (opts.xlabel) c.text((x0 + x1) / 2, y1 + tick + th + 12 * font, opts.xlabel, INK, { scale: font, align: 'center' });
  if (opts.ylabel) c.text(x0 - tick - maxYLab - 10 * font - th, (y0 + y1) / 2, opts.ylabel, INK, { scale: font, align: 'center', vertical: true });
  if (opts.title) {
    // centred over the plot area unless that pushes it off the canvas; a size smaller if still too wide
    const scale = Canvas.textWidth(opts.title, font + 1) <= c.width - 8 ? font + 1 : font;
    const half = Canvas.textWidth(opts.title, scale) / 2;
    const cx = Math.min(c.width - 4 - half, Math.max(4 + half, (x0 + x1) / 2));
    c.text(cx, y0 - 8 * font, opts.title, INK, { scale, align: 'center', baseline: 'bottom' });
  }
  return { c, x0, y0, x1, y1, xlim, ylim, logY, sx: tx, sy: ty, font };
}

function drawFrame(a: Axes): void {
  a.c.strokeRect(a.x0, a.y0, a.x1 - a.x0 + 1, a.y1 - a.y0 + 1, FRAME, 1);
}

/** Limits covering the 0.1%..99.9% quantiles of each coordinate (robust to a few wild samples), padded 5%. */
function robustLimits(arrays: ArrayLike<number>[], coord: number, stride: number): [number, number] {
  const vals: number[] = [];
  for (const a of arrays) {
    const step = Math.max(1, Math.floor(a.length / stride / 20000));
    for (let i = coord; i < a.length; i += stride * step) if (Number.isFinite(a[i])) vals.push(a[i]);
  }
  if (vals.length === 0) return [-1, 1];
  vals.sort((p, q) => p - q);
  const lo = vals[Math.floor(0.001 * (vals.length - 1))];
  const hi = vals[Math.ceil(0.999 * (vals.length - 1))];
  const pad = (hi - lo) * 0.05 || Math.abs(lo) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

/** Make x and y cover the same span so a circle looks like a circle (the plot box is square). */
function equalize(xl: [number, number], yl: [number, number], aspect: number): [[number, number], [number, number]] {
  const wx = xl[1] - xl[0];
  const wy = yl[1] - yl[0];
  const span = Math.max(wx, wy * aspect);
  const cx = (xl[0] + xl[1]) / 2;
  const cy = (yl[0] + yl[1]) / 2;
  return [
    [cx - span / 2, cx + span / 2],
    [cy - span / aspect / 2, cy + span / aspect / 2],
  ];
}

/**
 * Legend box in the corner of the plot box that covers the fewest marks (like matplotlib's
 * loc='best'); `marks` are pixel positions [x0, y0, x1, y1, ...]. Top-right when there are none.
 */
function legend(a: Axes, items: { label: string; color: Color; kind: 'dot' | 'line' }[], marks: ArrayLike<number> = []): void {
  if (items.length === 0) return;
  const f = a.font;
  const th = Canvas.textHeight(f);
  const rowH = th + 8 * f;
  const w = Math.max(...items.map((i) => Canvas.textWidth(i.label, f))) + 28 * f;
  const h = items.length * rowH + 6 * f;
  const corners: [number, number][] = [
    [a.x1 - w - 8 * f, a.y0 + 8 * f],
    [a.x0 + 8 * f, a.y0 + 8 * f],
    [a.x1 - w - 8 * f, a.y1 - h - 8 * f],
    [a.x0 + 8 * f, a.y1 - h - 8 * f],
  ];
  const hits = corners.map(([cx, cy]) => {
    let k = 0;
    for (let i = 0; i + 1 < marks.length; i += 2) {
      const mx = marks[i];
      const my = marks[i + 1];
      if (mx >= cx - 4 && mx <= cx + w + 4 && my >= cy - 4 && my <= cy + h + 4) k++;
    }
    return k;
  });
  let best = 0;
  for (let i = 1; i < 4; i++) if (hits[i] < hits[best]) best = i;
  const [x, y] = corners[best];
  a.c.fillRect(x, y, w, h, [255, 255, 255, 225]);
  a.c.strokeRect(x, y, w, h, '#bbbbbb', 1);
  items.forEach((it, k) => {
    const cy = y + 3 * f + k * rowH + rowH / 2;
    if (it.kind === 'dot') a.c.disc(x + 11 * f, cy, 3.5 * f, it.color);
    else a.c.line(x + 5 * f, cy, x + 17 * f, cy, it.color, 1.5 * f);
    a.c.text(x + 22 * f, cy, it.label, INK, { scale: f, baseline: 'middle' });
  });
}

/** Paint the margins outside the plot box white again (clips marks that spilled over). */
function clearMargins(a: Axes, fn: () => void): void {
  const { c } = a;
  const saved = new Uint8Array(c.data);
  fn();
  for (let y = 0; y < c.height; y++) {
    const inside = y >= a.y0 && y <= a.y1;
    for (let x = 0; x < c.width; x++) {
      if (inside && x >= a.x0 && x <= a.x1) continue;
      const i = (y * c.width + x) * 4;
      c.data[i] = saved[i];
      c.data[i + 1] = saved[i + 1];
      c.data[i + 2] = saved[i + 2];
      c.data[i + 3] = saved[i + 3];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// scatter

export interface ScatterSeries {
  /** Row-major [n, 2]. */
  points: ArrayLike<number>;
  color?: Color;
  label?: string;
  /** Dot radius in pixels (default from the number of points). */
  radius?: number;
  /** Dot opacity (default from the number of points). */
  alpha?: number;
}

export interface ScatterOptions extends PlotOptions {
  /** Same scale on both axes (default true: 2-D data keeps its shape). */
  equalAspect?: boolean;
}

/** Scatter plot of 2-D point sets (e.g. data in grey, samples in colour), with a legend. */
export function scatterPlot(series: ScatterSeries[], opts: ScatterOptions = {}): Uint8Array {
  const [W, H] = canvasSize(opts.size);
  const c = new Canvas(W, H);
  let xl = opts.xlim ?? robustLimits(series.map((s) => s.points), 0, 2);
  let yl = opts.ylim ?? robustLimits(series.map((s) => s.points), 1, 2);
  if ((opts.equalAspect ?? true) && !opts.xlim && !opts.ylim) {
    // The box is about square for a square canvas; measure it from a throwaway layout.
    const probe = makeAxes(new Canvas(W, H), opts, xl, yl);
    [xl, yl] = equalize(xl, yl, (probe.x1 - probe.x0) / (probe.y1 - probe.y0));
  }
  const a = makeAxes(c, opts, xl, yl);
  const marks: number[] = [];
  clearMargins(a, () => {
    series.forEach((s, k) => {
      const n = Math.floor(s.points.length / 2);
      const col = s.color ?? PALETTE[k % PALETTE.length];
      const r = s.radius ?? (n > 20000 ? 1.1 : n > 5000 ? 1.5 : n > 1000 ? 2 : 2.6) * a.font * 0.75;
      const al = s.alpha ?? (n > 20000 ? 0.35 : n > 5000 ? 0.5 : 0.7);
      for (let i = 0; i < n; i++) {
        const x = s.points[2 * i];
        const y = s.points[2 * i + 1];
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        const px = a.sx(x);
        const py = a.sy(y);
        c.disc(px, py, r, col, al);
        if (i % Math.max(1, Math.floor(n / 4000)) === 0) marks.push(px, py);
      }
    });
  });
  drawFrame(a);
  legend(
    a,
    series.filter((s) => s.label).map((s) => ({ label: s.label!, color: s.color ?? PALETTE[series.indexOf(s) % PALETTE.length], kind: 'dot' as const })),
    marks,
  );
  return c.toPng(opts.png);
}

// ---------------------------------------------------------------------------------------------
// score field

/**
 * Grid points for field and density plots: row-major [ny·nx, 2], x fastest, y ascending (row 0 at
 * the bottom), at cell centres. densityPlot reads values in the same order.
 */
export function makeGrid(xlim: [number, number], ylim: [number, number], nx: number, ny = nx): Float32Array {
  const g = new Float32Array(nx * ny * 2);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      g[2 * (j * nx + i)] = xlim[0] + ((i + 0.5) / nx) * (xlim[1] - xlim[0]);
      g[2 * (j * nx + i) + 1] = ylim[0] + ((j + 0.5) / ny) * (ylim[1] - ylim[0]);
    }
  }
  return g;
}

export interface FieldOptions extends PlotOptions {
  /** Points drawn under the arrows (the data), row-major [n, 2]. */
  data?: ArrayLike<number>;
  dataColor?: Color;
  arrowColor?: Color;
  /** Colour arrows by log-magnitude (viridis) instead of one colour. Default false. */
  colorByMagnitude?: boolean;
  /** Same scale on both axes (default true). */
  equalAspect?: boolean;
  /** Arrow length: 'scaled' (∝ |v|, the 95th percentile filling one grid cell; default) or 'unit' (all one cell, direction only). */
  arrowLength?: 'scaled' | 'unit';
}

/** Quiver plot of a vector field (e.g. the learned score s(x)) at grid points, over the data. */
export function scoreFieldPlot(gridPoints: ArrayLike<number>, vectors: ArrayLike<number>, opts: FieldOptions = {}): Uint8Array {
  const m = Math.floor(gridPoints.length / 2);
  if (vectors.length !== gridPoints.length) {
    throw new Error(`scoreFieldPlot: ${m} grid points but ${vectors.length / 2} vectors`);
  }
  const [W, H] = canvasSize(opts.size);
  const c = new Canvas(W, H);
  let xl = opts.xlim;
  let yl = opts.ylim;
  if (!xl || !yl) {
    let gx0 = Infinity, gx1 = -Infinity, gy0 = Infinity, gy1 = -Infinity;
    for (let i = 0; i < m; i++) {
      gx0 = Math.min(gx0, gridPoints[2 * i]);
      gx1 = Math.max(gx1, gridPoints[2 * i]);
      gy0 = Math.min(gy0, gridPoints[2 * i + 1]);
      gy1 = Math.max(gy1, gridPoints[2 * i + 1]);
    }
    const cellGuess = Math.sqrt(((gx1 - gx0) * (gy1 - gy0)) / Math.max(m, 1)) || 1;
    xl = xl ?? [gx0 - cellGuess / 2, gx1 + cellGuess / 2];
    yl = yl ?? [gy0 - cellGuess / 2, gy1 + cellGuess / 2];
  }
  const a = makeAxes(c, opts, xl, yl, { noGrid: true, equalAspect: opts.equalAspect ?? true });
  const cellPx = Math.sqrt(((a.x1 - a.x0) * (a.y1 - a.y0)) / Math.max(m, 1));
  const mags = new Float64Array(m);
  for (let i = 0; i < m; i++) mags[i] = Math.hypot(vectors[2 * i], vectors[2 * i + 1]);
  const finite = Array.from(mags).filter(Number.isFinite).sort((p, q) => p - q);
  const ref = finite.length ? finite[Math.floor(0.95 * (finite.length - 1))] || 1 : 1;
  const lmin = finite.length ? Math.log(finite[0] + 1e-12) : 0;
  const lmax = finite.length ? Math.log(finite[finite.length - 1] + 1e-12) : 1;
  clearMargins(a, () => {
    if (opts.data) {
      const n = Math.floor(opts.data.length / 2);
      const col = opts.dataColor ?? '#9ecae1';
      const r = (n > 5000 ? 1.2 : 1.8) * a.font * 0.75;
      for (let i = 0; i < n; i++) c.disc(a.sx(opts.data[2 * i]), a.sy(opts.data[2 * i + 1]), r, col, n > 5000 ? 0.35 : 0.55);
    }
    const width = Math.max(1, 0.6 * a.font);
    for (let i = 0; i < m; i++) {
      const vx = vectors[2 * i];
      const vy = vectors[2 * i + 1];
      const mag = mags[i];
      if (!Number.isFinite(mag) || mag === 0) continue;
      const L = opts.arrowLength === 'unit' ? 0.8 * cellPx : Math.min(mag / ref, 1.5) * 0.9 * cellPx;
      if (L < 1) continue;
      // Screen y points down: flip vy.
      const ux = vx / mag;
      const uy = -vy / mag;
      const px = a.sx(gridPoints[2 * i]);
      const py = a.sy(gridPoints[2 * i + 1]);
      const col = opts.colorByMagnitude ? colormap('viridis', (Math.log(mag + 1e-12) - lmin) / (lmax - lmin || 1)) : opts.arrowColor ?? '#1b1b1b';
      c.arrow(px - (ux * L) / 2, py - (uy * L) / 2, px + (ux * L) / 2, py + (uy * L) / 2, col, width, Math.min(Math.max(3 * a.font, L * 0.35), 6 * a.font));
    }
  });
  drawFrame(a);
  return c.toPng(opts.png);
}

// ---------------------------------------------------------------------------------------------
// colour maps and density

const STOPS: Record<'viridis' | 'magma' | 'coolwarm', string[]> = {
  viridis: ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'],
  magma: ['#000004', '#1c1044', '#4f127b', '#812581', '#b5367a', '#e55064', '#fb8761', '#fec287', '#fcfdbf'],
  coolwarm: ['#3b4cc0', '#6788ee', '#9abbff', '#c9d7f0', '#edd1c2', '#f7a889', '#e26952', '#b40426'],
};
const STOP_RGB = Object.fromEntries(Object.entries(STOPS).map(([k, v]) => [k, v.map(parseColor)])) as Record<keyof typeof STOPS, ReturnType<typeof parseColor>[]>;

export type ColormapName = keyof typeof STOPS;

/** Colour at t ∈ [0, 1] of a perceptual colour map (piecewise-linear through its reference stops). */
export function colormap(name: ColormapName, t: number): [number, number, number] {
  const s = STOP_RGB[name];
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (s.length - 1);
  const i = Math.min(Math.floor(x), s.length - 2);
  const f = x - i;
  return [0, 1, 2].map((k) => Math.round(s[i][k] * (1 - f) + s[i + 1][k] * f)) as [number, number, number];
}

export interface DensityOptions extends PlotOptions {
  /** Grid columns; values are row-major [ny, nx], x fastest, row 0 at the bottom (as makeGrid). */
  nx: number;
  ny?: number;
  colormap?: ColormapName;
  /** Show log(values) (e.g. for densities spanning decades). Default false. */
  log?: boolean;
  /** Label for the colour bar. */
  label?: string;
  /** Points drawn over the heatmap, row-major [n, 2]. */
  data?: ArrayLike<number>;
  /** Same scale on both axes (default true). */
  equalAspect?: boolean;
  /** Colour scale limits (default: min and max of the finite values). */
  vmin?: number;
  vmax?: number;
}

/** Heatmap of values on a regular grid (bilinear between grid centres) with a colour bar. */
export function densityPlot(values: ArrayLike<number>, opts: DensityOptions): Uint8Array {
  const nx = opts.nx;
  const ny = opts.ny ?? Math.round(values.length / nx);
  if (nx * ny !== values.length) throw new Error(`densityPlot: ${values.length} values do not fill a ${nx}×${ny} grid`);
  const xl = opts.xlim ?? [0, nx];
  const yl = opts.ylim ?? [0, ny];
  const v = new Float64Array(values.length);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = opts.log ? Math.log(Math.max(values[i], 1e-300)) : values[i];
    v[i] = x;
    if (Number.isFinite(x)) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
  }
  if (opts.vmin !== undefined) lo = opts.log ? Math.log(opts.vmin) : opts.vmin;
  if (opts.vmax !== undefined) hi = opts.log ? Math.log(opts.vmax) : opts.vmax;
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi <= lo) hi = lo + 1;
  const cmap = opts.colormap ?? 'viridis';
  const [W, H] = canvasSize(opts.size ?? [740, 640]);
  const c = new Canvas(W, H);
  const f = fontScale(W, H);
  const a = makeAxes(c, opts, xl, yl, { noGrid: true, rightMargin: 90 * f, equalAspect: opts.equalAspect ?? true });
  // heatmap
  for (let py = Math.ceil(a.y0); py <= a.y1; py++) {
    const gy = ((a.y1 - (py + 0.5)) / (a.y1 - a.y0)) * ny - 0.5;
    const j0 = Math.min(Math.max(Math.floor(gy), 0), ny - 1);
    const j1 = Math.min(j0 + 1, ny - 1);
    const fy = Math.min(Math.max(gy - j0, 0), 1);
    for (let px = Math.ceil(a.x0); px <= a.x1; px++) {
      const gx = ((px + 0.5 - a.x0) / (a.x1 - a.x0)) * nx - 0.5;
      const i0 = Math.min(Math.max(Math.floor(gx), 0), nx - 1);
      const i1 = Math.min(i0 + 1, nx - 1);
      const fx = Math.min(Math.max(gx - i0, 0), 1);
      const val =
        (v[j0 * nx + i0] * (1 - fx) + v[j0 * nx + i1] * fx) * (1 - fy) + (v[j1 * nx + i0] * (1 - fx) + v[j1 * nx + i1] * fx) * fy;
      const col = Number.isFinite(val) ? colormap(cmap, (val - lo) / (hi - lo)) : ([255, 255, 255] as [number, number, number]);
      const i = (py * W + px) * 4;
      c.data[i] = col[0];
      c.data[i + 1] = col[1];
      c.data[i + 2] = col[2];
      c.data[i + 3] = 255;
    }
  }
  if (opts.data) {
    clearMargins(a, () => {
      const n = Math.floor(opts.data!.length / 2);
      for (let i = 0; i < n; i++) c.disc(a.sx(opts.data![2 * i]), a.sy(opts.data![2 * i + 1]), 1.2 * f, '#ffffff', 0.5);
    });
  }
  drawFrame(a);
  // colour bar
  const bx = a.x1 + 16 * f;
  const bw = 14 * f;
  for (let py = Math.round(a.y0); py <= a.y1; py++) {
    const t = (a.y1 - py) / (a.y1 - a.y0);
    c.fillRect(bx, py, bw, 1, colormap(cmap, t));
  }
  c.strokeRect(bx, a.y0, bw, a.y1 - a.y0 + 1, FRAME, 1);
  const ticks = niceTicks(lo, hi, 5);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  for (const t of ticks) {
    const py = Math.round(a.y1 - ((t - lo) / (hi - lo)) * (a.y1 - a.y0));
    c.fillRect(bx + bw, py, 4 * f, 1, FRAME);
    c.text(bx + bw + 6 * f, py + 0.5, formatTick(t, step), INK, { scale: f, baseline: 'middle' });
  }
  const lab = opts.label ?? (opts.log ? 'log value' : '');
  const tw = Math.max(0, ...ticks.map((t) => Canvas.textWidth(formatTick(t, step), f)));
  if (lab) c.text(bx + bw + 16 * f + tw, (a.y0 + a.y1) / 2, lab, INK, { scale: f, align: 'center', vertical: true });
  return c.toPng(opts.png);
}

// ---------------------------------------------------------------------------------------------
// loss curve

export interface LossCurveOptions extends PlotOptions {
  /** Log-scale y axis (non-positive values are skipped). Default true when the values span > 2 decades. */
  logY?: boolean;
  color?: Color;
  /** Also draw a centred moving average over this many steps (default: n/50 when n > 200; 0 = off). */
  smooth?: number;
  label?: string;
}

/** Training loss against step: raw values (faint) and a smoothed curve, with numbered axes. */
export function lossCurvePlot(steps: ArrayLike<number>, losses: ArrayLike<number>, opts: LossCurveOptions = {}): Uint8Array {
  const n = Math.min(steps.length, losses.length);
  let lo = Infinity;
  let hi = -Infinity;
  let posLo = Infinity;
  for (let i = 0; i < n; i++) {
    const v = losses[i];
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    if (v > 0) posLo = Math.min(posLo, v);
  }
  const logY = opts.logY ?? (lo > 0 && hi / lo > 100);
  const [W, H] = canvasSize(opts.size ?? [720, 440]);
  const c = new Canvas(W, H);
  let yl: [number, number];
  if (opts.ylim) yl = opts.ylim;
  else if (!Number.isFinite(lo)) yl = logY ? [0.1, 10] : [0, 1];
  else if (logY) {
    const l = Math.log10(posLo);
    const h = Math.log10(Math.max(hi, posLo));
    const pad = Math.max((h - l) * 0.05, 0.05);
    yl = [10 ** (l - pad), 10 ** (h + pad)];
  } else {
    const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.1 || 1;
    yl = [lo - pad, hi + pad];
  }
  let xlo = Infinity;
  let xhi = -Infinity;
  for (let i = 0; i < n; i++) {
    xlo = Math.min(xlo, steps[i]);
    xhi = Math.max(xhi, steps[i]);
  }
  if (!Number.isFinite(xlo)) [xlo, xhi] = [0, 1];
  if (xhi === xlo) xhi = xlo + 1;
  const xl = opts.xlim ?? [xlo, xhi];
  const a = makeAxes(c, { xlabel: 'step', ylabel: 'loss', ...opts }, xl, yl, { logY });
  const col = opts.color ?? PALETTE[0];
  const smooth = opts.smooth ?? (n > 200 ? Math.round(n / 50) : 0);
  const ok = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const path = (vals: ArrayLike<number>) => {
    const xy: number[] = [];
    for (let i = 0; i < n; i++) {
      xy.push(ok(vals[i]) ? a.sx(steps[i]) : NaN, ok(vals[i]) ? a.sy(Math.min(Math.max(vals[i], yl[0] * (logY ? 0.5 : 1) - (logY ? 0 : yl[1] - yl[0])), yl[1] * 2)) : NaN);
    }
    return xy;
  };
  clearMargins(a, () => {
    const rgb = parseColor(col);
    c.polyline(path(losses), smooth > 0 ? [rgb[0], rgb[1], rgb[2], 90] : col, smooth > 0 ? 1 : 1.5 * a.font);
    if (smooth > 0) {
      // Centred moving average over ±smooth/2 steps (in log space on a log axis): no lag.
      const ema = new Float64Array(n);
      const pre = new Float64Array(n + 1);
      const cnt = new Float64Array(n + 1);
      for (let i = 0; i < n; i++) {
        const v = losses[i];
        const good = ok(v);
        pre[i + 1] = pre[i] + (good ? (logY ? Math.log(v) : v) : 0);
        cnt[i + 1] = cnt[i] + (good ? 1 : 0);
      }
      const half = Math.max(1, Math.round(smooth / 2));
      for (let i = 0; i < n; i++) {
        const lo2 = Math.max(0, i - half);
        const hi2 = Math.min(n, i + half + 1);
        const k = cnt[hi2] - cnt[lo2];
        const m = k > 0 ? (pre[hi2] - pre[lo2]) / k : NaN;
        ema[i] = logY ? Math.exp(m) : m;
      }
      c.polyline(path(ema), col, 1.5 * a.font);
    }
  });
  drawFrame(a);
  if (opts.label) {
    const marks: number[] = [];
    for (let i = 0; i < n; i++) if (ok(losses[i])) marks.push(a.sx(steps[i]), a.sy(losses[i]));
    legend(a, [{ label: opts.label, color: col, kind: 'line' }], marks);
  }
  return c.toPng(opts.png);
}

// ---------------------------------------------------------------------------------------------
// image grid

export interface ImageGridOptions {
  /** Value range of the input; default: '[-1,1]' if any value < -0.01, else '[0,1]'. */
  range?: '[-1,1]' | '[0,1]';
  /** Integer upscaling of each image (default: so a cell is at least ~64 px). */
  scale?: number;
  /** Pixels between images (default 2). */
  pad?: number;
  title?: string;
  background?: Color;
  png?: PngOptions;
}

/** A grid of images (like torchvision's make_grid): `nrow` images per row. c = 1 (grey) or 3 (RGB). */
export function imageGrid(images: ArrayLike<number>, shape: readonly [number, number, number, number], nrow = 8, opts: ImageGridOptions = {}): Uint8Array {
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
  const cols = Math.max(1, Math.min(nrow, n));
  const rowsN = Math.max(1, Math.ceil(n / cols));
  const s = Math.max(1, Math.round(opts.scale ?? Math.ceil(64 / Math.max(h, w))));
  const pad = opts.pad ?? 2;
  const f = cols * w * s >= 420 ? 2 : 1;
  const top = opts.title ? Canvas.textHeight(f) + 12 * f : 0;
  const W = cols * (w * s + pad) + pad;
  const Hh = top + rowsN * (h * s + pad) + pad;
  const c = new Canvas(Math.max(W, opts.title ? Canvas.textWidth(opts.title, f) + 16 : 0), Hh, opts.background ?? '#ffffff');
  const off = Math.floor((c.width - W) / 2);
  if (opts.title) c.text(c.width / 2, 6 * f, opts.title, INK, { scale: f, align: 'center' });
  const to8 = (v: number) => {
    const u = range === '[-1,1]' ? (v + 1) / 2 : v;
    return Number.isFinite(u) ? Math.round(Math.min(Math.max(u, 0), 1) * 255) : 0;
  };
  const hw = h * w;
  for (let k = 0; k < n; k++) {
    const gx = off + pad + (k % cols) * (w * s + pad);
    const gy = top + pad + Math.floor(k / cols) * (h * s + pad);
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
  return c.toPng(opts.png);
}

