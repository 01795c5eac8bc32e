// Research-style figures as Vega-Lite specs: samples over data, score fields (arrows), densities
// on a grid, loss curves, Fréchet distance against network evaluations. One spec serves every
// home: the CLI and the README render it headless (src/io/render_node.ts: vega → SVG → resvg →
// PNG), a page hands it to vega-embed. Pure data in, plain JSON out: this file imports nothing at
// run time, so it bundles for the browser as it is.

import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

/** matplotlib's tab10 palette. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Font stack: DejaVu Sans first (what the headless renderer measures and draws with), then common sans fonts. */
export const CHART_FONT = 'DejaVu Sans, Liberation Sans, Verdana, Arial, Helvetica, sans-serif';

const TITLE_SIZE = 15;
const INK = '#222222';

/** Shared look: white background, light grid, dark frame, one font. */
export const CHART_CONFIG = {
  background: 'white',
  padding: 12,
  font: CHART_FONT,
  title: { fontSize: TITLE_SIZE, fontWeight: 'bold', color: INK, offset: 10, subtitleFontSize: 12, subtitleColor: '#555555', lineHeight: TITLE_SIZE + 4 },
  axis: {
    labelFontSize: 12,
    titleFontSize: 13,
    titleFontWeight: 'normal',
    labelColor: INK,
    titleColor: INK,
    gridColor: '#e6e6e6',
    domainColor: '#444444',
    tickColor: '#444444',
    labelFlush: false,
  },
  legend: { labelFontSize: 12, titleFontSize: 12, titleFontWeight: 'normal', labelColor: INK, titleColor: INK, symbolOpacity: 1, labelLimit: 320 },
  view: { stroke: '#444444' },
} as const;

export interface ChartOptions {
  /** Title; a long one wraps onto more lines (never runs off the picture). */
  title?: string;
  subtitle?: string;
  /** Plot area in pixels: a side, or [width, height]. Axes, title and legend add to it. */
  size?: number | [number, number];
  xlim?: [number, number];
  ylim?: [number, number];
  xlabel?: string;
  ylabel?: string;
}

function plotSize(size: ChartOptions['size'], def: [number, number]): [number, number] {
  if (Array.isArray(size)) return [size[0], size[1]];
  if (typeof size === 'number') return [size, size];
  return def;
}

/**
 * Break `text` at spaces into lines of at most `width` pixels, assuming `em` pixels per character
 * (a wide estimate for the title font, so real text only ever comes out narrower).
 */
export function wrapText(text: string, width: number, fontSize = TITLE_SIZE, em = 0.66): string[] {
  const per = Math.max(8, Math.floor(width / (fontSize * em)));
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!cur) cur = word;
    else if (cur.length + 1 + word.length <= per) cur += ' ' + word;
    else {
      lines.push(cur);
      cur = word;
    }
  }
  if (cur) lines.push(cur);
  return lines.length ? lines : [''];
}

function titleOf(opts: ChartOptions, width: number): Record<string, unknown> | undefined {
  if (!opts.title && !opts.subtitle) return undefined;
  const t: Record<string, unknown> = { text: opts.title ? wrapText(opts.title, Math.max(width, 240)) : '' };
  if (opts.subtitle) t.subtitle = wrapText(opts.subtitle, Math.max(width, 240), 12, 0.62);
  return t;
}

/** The top-level frame every chart shares. */
function frame(opts: ChartOptions, width: number, height: number, body: Record<string, unknown>): TopLevelSpec {
  const spec: Record<string, unknown> = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height,
    config: CHART_CONFIG,
    ...body,
  };
  const title = titleOf(opts, width);
  if (title) spec.title = title;
  return spec as unknown as TopLevelSpec;
}

/** Limits covering the 0.1%..99.9% quantiles of one coordinate of row-major [n, 2] arrays, padded 5%. */
function robustLimits(arrays: ArrayLike<number>[], coord: number): [number, number] {
  const vals: number[] = [];
  for (const a of arrays) {
    const step = Math.max(1, Math.floor(a.length / 2 / 20000));
    for (let i = coord; i < a.length; i += 2 * step) if (Number.isFinite(a[i])) vals.push(a[i]);
  }
  if (vals.length === 0) return [-1, 1];
  vals.sort((p, q) => p - q);
  const lo = vals[Math.floor(0.001 * (vals.length - 1))];
  const hi = vals[Math.ceil(0.999 * (vals.length - 1))];
  const pad = (hi - lo) * 0.05 || Math.abs(lo) * 0.1 || 1;
  return [lo - pad, hi + pad];
}

/** Grow the shorter span so one data unit is as many pixels across as up. */
function equalize(xl: [number, number], yl: [number, number], w: number, h: number): [[number, number], [number, number]] {
  const upp = Math.max((xl[1] - xl[0]) / w, (yl[1] - yl[0]) / h);
  const cx = (xl[0] + xl[1]) / 2;
  const cy = (yl[0] + yl[1]) / 2;
  return [
    [cx - (upp * w) / 2, cx + (upp * w) / 2],
    [cy - (upp * h) / 2, cy + (upp * h) / 2],
  ];
}

const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

/** Tick values for a log axis over [lo, hi] (lo > 0): decades, with 2× and 5× when the range is short. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const decades = b - a;
  const span = Math.log10(hi / lo);
  const mults = span <= 1.2 ? [1, 2, 3, 5] : span <= 2.6 ? [1, 2, 5] : [1];
  const stride = decades > 8 ? Math.ceil(decades / 8) : 1;
  const out: number[] = [];
  for (let e = a; e <= b; e++) {
    if ((e - a) % stride) continue;
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(6));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

function linearAxis(field: string, domain: [number, number], title: string | undefined, extra: Record<string, unknown> = {}) {
  return { field, type: 'quantitative', scale: { domain, nice: false, zero: false }, axis: { title: title ?? null, ...extra } };
}

/** Rows {x, y} of a row-major [n, 2] array, finite points only, at most `max` of them (evenly strided). */
function pointRows(points: ArrayLike<number>, max: number): { x: number; y: number }[] {
  const n = Math.floor(points.length / 2);
  const step = Math.max(1, Math.ceil(n / max));
  const rows: { x: number; y: number }[] = [];
  for (let i = 0; i < n; i += step) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    if (Number.isFinite(x) && Number.isFinite(y)) rows.push({ x: r6(x), y: r6(y) });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// scatter

export interface ScatterSeries {
  /** Row-major [n, 2]. */
  points: ArrayLike<number>;
  label: string;
  color?: string;
  /** Dot radius in pixels (default from the number of points). */
  radius?: number;
  /** Dot opacity (default from the number of points). */
  opacity?: number;
}

export interface ScatterOptions extends ChartOptions {
  /** Same scale on both axes (default true: 2-D data keeps its shape). */
  equalAspect?: boolean;
  /** At most this many points per series are drawn (evenly strided). Default 20000. */
  maxPoints?: number;
}

/** Point sets over each other (e.g. the data in grey, samples in colour), later series on top, with a legend. */
export function scatterSpec(series: ScatterSeries[], opts: ScatterOptions = {}): TopLevelSpec {
  const [w, h] = plotSize(opts.size, [460, 460]);
  let xl = opts.xlim ?? robustLimits(series.map((s) => s.points), 0);
  let yl = opts.ylim ?? robustLimits(series.map((s) => s.points), 1);
  if ((opts.equalAspect ?? true) && !(opts.xlim && opts.ylim)) [xl, yl] = equalize(xl, yl, w, h);
  const labels = series.map((s) => s.label);
  const colors = series.map((s, k) => s.color ?? PALETTE[k % PALETTE.length]);
  const layer = series.map((s, k) => {
    const n = Math.floor(s.points.length / 2);
    const r = s.radius ?? (n > 20000 ? 1.1 : n > 5000 ? 1.4 : n > 1000 ? 1.8 : 2.4);
    const opacity = s.opacity ?? (n > 20000 ? 0.35 : n > 5000 ? 0.5 : 0.65);
    return {
      data: { values: pointRows(s.points, opts.maxPoints ?? 20000) },
      mark: { type: 'circle', size: Math.PI * r * r, opacity, clip: true },
      encoding: {
        x: linearAxis('x', xl, opts.xlabel),
        y: linearAxis('y', yl, opts.ylabel),
        color: {
          datum: s.label,
          type: 'nominal',
          scale: { domain: labels, range: colors },
          legend: k === 0 ? { title: null, orient: 'top', direction: 'horizontal', symbolSize: 90 } : undefined,
        },
      },
    };
  });
  return frame(opts, w, h, { layer });
}

// ---------------------------------------------------------------------------------------------
// score field

/**
 * Grid points for field and density charts: row-major [ny·nx, 2], x fastest, y ascending (row 0
 * at the bottom), at cell centres. densitySpec reads values in the same order.
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

export interface FieldOptions extends ChartOptions {
  /** Points drawn under the arrows (the data), row-major [n, 2]. */
  data?: ArrayLike<number>;
  dataColor?: string;
  arrowColor?: string;
  /** Colour arrows by |v| (viridis, log scale) instead of one colour. Default false. */
  colorByMagnitude?: boolean;
  /** Same scale on both axes (default true). */
  equalAspect?: boolean;
  /** Arrow length: 'scaled' (∝ |v|, the 95th percentile filling about one grid cell; default) or 'unit' (direction only). */
  arrowLength?: 'scaled' | 'unit';
}

/** Quiver plot of a vector field (e.g. the learned score s(x)) at grid points, over the data. */
export function scoreFieldSpec(gridPoints: ArrayLike<number>, vectors: ArrayLike<number>, opts: FieldOptions = {}): TopLevelSpec {
  const m = Math.floor(gridPoints.length / 2);
  if (vectors.length !== gridPoints.length) throw new Error(`scoreFieldSpec: ${m} grid points but ${vectors.length / 2} vectors`);
  const [w, h] = plotSize(opts.size, [460, 460]);
  let xl = opts.xlim ?? robustLimits([gridPoints], 0);
  let yl = opts.ylim ?? robustLimits([gridPoints], 1);
  if ((opts.equalAspect ?? true) && !(opts.xlim && opts.ylim)) [xl, yl] = equalize(xl, yl, w, h);
  const kx = w / (xl[1] - xl[0]); // pixels per data unit
  const ky = h / (yl[1] - yl[0]);
  const cellPx = Math.sqrt((w * h) / Math.max(m, 1));
  const mags = new Float64Array(m);
  for (let i = 0; i < m; i++) mags[i] = Math.hypot(vectors[2 * i], vectors[2 * i + 1]);
  const finite = Array.from(mags).filter((v) => Number.isFinite(v) && v > 0).sort((p, q) => p - q);
  const ref = finite.length ? finite[Math.floor(0.95 * (finite.length - 1))] : 1;
  const arrows: Record<string, number>[] = [];
  for (let i = 0; i < m; i++) {
    const mag = mags[i];
    if (!Number.isFinite(mag) || mag === 0) continue;
    const L = opts.arrowLength === 'unit' ? 0.8 * cellPx : Math.min(mag / ref, 1.5) * 0.9 * cellPx;
    if (L < 1) continue;
    // direction on screen (y up), then back to data units
    const sx = vectors[2 * i] * kx;
    const sy = vectors[2 * i + 1] * ky;
    const sl = Math.hypot(sx, sy);
    const ux = sx / sl;
    const uy = sy / sl;
    const head = Math.min(Math.max(0.38 * L, 3), 7); // arrowhead length, px
    const cx = gridPoints[2 * i];
    const cy = gridPoints[2 * i + 1];
    const tipX = cx + (ux * L) / 2 / kx;
    const tipY = cy + (uy * L) / 2 / ky;
    arrows.push({
      x: r6(cx - (ux * L) / 2 / kx),
      y: r6(cy - (uy * L) / 2 / ky),
      // the shaft stops inside the head; the head (an equilateral-ish triangle) is centred half its length behind the tip
      x2: r6(tipX - (ux * head * 0.6) / kx),
      y2: r6(tipY - (uy * head * 0.6) / ky),
      hx: r6(tipX - (ux * head * 0.5) / kx),
      hy: r6(tipY - (uy * head * 0.5) / ky),
      a: Math.round((Math.atan2(ux, uy) * 180) / Math.PI * 10) / 10, // clockwise from up
      s: Math.round((head / 0.866) ** 2 * 10) / 10, // symbol size giving that head length
      m: mag,
    });
  }
  const color = opts.colorByMagnitude
    ? { field: 'm', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, legend: { title: '|s(x)|', orient: 'right', gradientLength: h } }
    : { value: opts.arrowColor ?? '#1b1b1b' };
  const x = linearAxis('x', xl, opts.xlabel, { grid: false });
  const y = linearAxis('y', yl, opts.ylabel, { grid: false });
  const layer: Record<string, unknown>[] = [];
  if (opts.data) {
    const n = Math.floor(opts.data.length / 2);
    layer.push({
      data: { values: pointRows(opts.data, 20000) },
      mark: { type: 'circle', size: n > 5000 ? 4 : 8, opacity: n > 5000 ? 0.35 : 0.55, color: opts.dataColor ?? '#9ecae1', clip: true },
      encoding: { x, y },
    });
  }
  layer.push({
    data: { name: 'arrows', values: arrows },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 1.1, clip: true },
        encoding: { x, y, x2: { field: 'x2' }, y2: { field: 'y2' }, color },
      },
      {
        mark: { type: 'point', shape: 'triangle-up', filled: true, opacity: 1, clip: true },
        encoding: {
          x: { ...x, field: 'hx' },
          y: { ...y, field: 'hy' },
          angle: { field: 'a', type: 'quantitative', scale: null },
          size: { field: 's', type: 'quantitative', scale: null },
          color,
        },
      },
    ],
  });
  return frame(opts, w, h, { layer });
}

// ---------------------------------------------------------------------------------------------
// density

export type ColormapName = 'viridis' | 'magma' | 'inferno' | 'plasma' | 'blues' | 'greys';

export interface DensityOptions extends ChartOptions {
  /** Grid columns; values are row-major [ny, nx], x fastest, row 0 at the bottom (as makeGrid). */
  nx: number;
  ny?: number;
  colormap?: ColormapName;
  /** Show log(values) (e.g. for densities spanning decades). Default false. */
  log?: boolean;
  /** Title of the colour bar. */
  label?: string;
  /** Points drawn over the heatmap, row-major [n, 2]. */
  data?: ArrayLike<number>;
  /** Same scale on both axes (default true). */
  equalAspect?: boolean;
  /** Colour scale limits (default: min and max of the finite values). */
  vmin?: number;
  vmax?: number;
}

/** Heatmap of values on a regular grid with a colour bar (e.g. an energy model's exp(−E)). */
export function densitySpec(values: ArrayLike<number>, opts: DensityOptions): TopLevelSpec {
  const nx = opts.nx;
  const ny = opts.ny ?? Math.round(values.length / nx);
  if (nx * ny !== values.length) throw new Error(`densitySpec: ${values.length} values do not fill a ${nx}×${ny} grid`);
  let [w, h] = plotSize(opts.size, [460, 460]);
  const xl = opts.xlim ?? [0, nx];
  const yl = opts.ylim ?? [0, ny];
  if (opts.equalAspect ?? true) {
    // shrink the box to the data's aspect
    const a = (yl[1] - yl[0]) / (xl[1] - xl[0]);
    if (h / w > a) h = Math.round(w * a);
    else w = Math.round(h / a);
  }
  const rows: { i: number; v: number }[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = opts.log ? Math.log(Math.max(values[i], 1e-300)) : values[i];
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    rows.push({ i, v: Number(v.toPrecision(5)) });
  }
  if (opts.vmin !== undefined) lo = opts.log ? Math.log(opts.vmin) : opts.vmin;
  if (opts.vmax !== undefined) hi = opts.log ? Math.log(opts.vmax) : opts.vmax;
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi <= lo) hi = lo + 1;
  const dx = (xl[1] - xl[0]) / nx;
  const dy = (yl[1] - yl[0]) / ny;
  // Cells overlap their right/upper neighbour by ~0.7 px so anti-aliased edges leave no seams.
  const ex = 0.7 * (dx / (w / nx));
  const ey = 0.7 * (dy / (h / ny));
  const x = linearAxis('x', xl, opts.xlabel, { grid: false });
  const y = linearAxis('y', yl, opts.ylabel, { grid: false });
  const layer: Record<string, unknown>[] = [
    {
      data: { values: rows },
      transform: [
        { calculate: `${xl[0]} + (datum.i % ${nx}) * ${dx}`, as: 'x' },
        { calculate: `datum.x + ${dx + ex}`, as: 'x2' },
        { calculate: `${yl[0]} + floor(datum.i / ${nx}) * ${dy}`, as: 'y' },
        { calculate: `datum.y + ${dy + ey}`, as: 'y2' },
      ],
      mark: { type: 'rect', clip: true, strokeWidth: 0 },
      encoding: {
        x,
        y,
        x2: { field: 'x2' },
        y2: { field: 'y2' },
        color: {
          field: 'v',
          type: 'quantitative',
          scale: { scheme: opts.colormap ?? 'viridis', domain: [lo, hi], clamp: true, nice: false, zero: false },
          legend: { title: opts.label ?? (opts.log ? 'log value' : null), orient: 'right', gradientLength: h, gradientThickness: 14, tickCount: 5 },
        },
      },
    },
  ];
  if (opts.data) {
    layer.push({
      data: { values: pointRows(opts.data, 20000) },
      mark: { type: 'circle', size: 5, opacity: 0.5, color: '#ffffff', clip: true },
      encoding: { x, y },
    });
  }
  return frame(opts, w, h, { layer });
}

// ---------------------------------------------------------------------------------------------
// loss curve

export interface LossCurveOptions extends ChartOptions {
  /** Log-scale y axis (non-positive values are skipped). Default: when the values span more than 2 decades. */
  logY?: boolean;
  color?: string;
  /** Centred moving average over this many logged values (default n/50 when n > 200; 0 = off). */
  smooth?: number;
  /** Legend name of the curve (default 'loss'). */
  label?: string;
  /** At most this many points per line (min/max per bucket beyond it). Default 2000. */
  maxPoints?: number;
}

/** Lighter tint of a #rrggbb colour (t = 0: itself, 1: white). */
function tint(hex: string, t: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const v = parseInt(m[1], 16);
  const ch = [v >> 16, (v >> 8) & 255, v & 255].map((c) => Math.round(c + (255 - c) * t));
  return '#' + ch.map((c) => c.toString(16).padStart(2, '0')).join('');
}

/** Indices to keep of a series of n values: all when n ≤ max, else each bucket's first, min and max. */
function thin(vals: ArrayLike<number>, n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(max / 2));
  const keep: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const s = Math.floor((b * n) / buckets);
    const e = Math.floor(((b + 1) * n) / buckets);
    let lo = -1;
    let hi = -1;
    for (let i = s; i < e; i++) {
      if (!Number.isFinite(vals[i])) continue;
      if (lo < 0 || vals[i] < vals[lo]) lo = i;
      if (hi < 0 || vals[i] > vals[hi]) hi = i;
    }
    if (lo < 0) continue;
    keep.push(Math.min(lo, hi));
    if (hi !== lo) keep.push(Math.max(lo, hi));
  }
  return keep;
}

/** Training loss against step: every logged value (light) and a centred moving average (solid). */
export function lossCurveSpec(steps: ArrayLike<number>, losses: ArrayLike<number>, opts: LossCurveOptions = {}): TopLevelSpec {
  const n = Math.min(steps.length, losses.length);
  const [w, h] = plotSize(opts.size, [620, 300]);
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
  const ok = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  let yl: [number, number];
  if (opts.ylim) yl = opts.ylim;
  else if (!Number.isFinite(lo) || (logY && !Number.isFinite(posLo))) yl = logY ? [0.1, 10] : [0, 1];
  else if (logY) {
    const l = Math.log10(posLo);
    const u = Math.log10(Math.max(hi, posLo));
    const pad = Math.max((u - l) * 0.04, 0.03);
    yl = [10 ** (l - pad), 10 ** (u + pad)];
  } else {
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.1 || 1;
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
  const col = opts.color ?? PALETTE[0];
  const smooth = opts.smooth ?? (n > 200 ? Math.round(n / 50) : 0);
  const max = opts.maxPoints ?? 2000;
  const clean = Float64Array.from({ length: n }, (_, i) => (ok(losses[i]) ? losses[i] : NaN));
  const label = opts.label ?? 'loss';
  const series: { label: string; color: string; width: number; rows: { x: number; y: number }[] }[] = [];
  const rowsOf = (vals: Float64Array) =>
    thin(vals, n, max)
      .filter((i) => Number.isFinite(vals[i]))
      .map((i) => ({ x: steps[i], y: Number(vals[i].toPrecision(6)) }));
  if (smooth > 0) {
    // centred moving average over ±smooth/2 logged values (of log loss on a log axis): no lag
    const pre = new Float64Array(n + 1);
    const cnt = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const good = Number.isFinite(clean[i]);
      pre[i + 1] = pre[i] + (good ? (logY ? Math.log(clean[i]) : clean[i]) : 0);
      cnt[i + 1] = cnt[i] + (good ? 1 : 0);
    }
    const half = Math.max(1, Math.round(smooth / 2));
    const avg = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = Math.max(0, i - half);
      const b = Math.min(n, i + half + 1);
      const k = cnt[b] - cnt[a];
      const mean = k > 0 ? (pre[b] - pre[a]) / k : NaN;
      avg[i] = logY ? Math.exp(mean) : mean;
    }
    series.push({ label, color: tint(col, 0.62), width: 1, rows: rowsOf(clean) });
    series.push({ label: `moving average (${2 * half + 1} values)`, color: col, width: 2, rows: rowsOf(avg) });
  } else {
    series.push({ label, color: col, width: 1.6, rows: rowsOf(clean) });
  }
  const labels = series.map((s) => s.label);
  const colors = series.map((s) => s.color);
  const layer = series.map((s, k) => ({
    data: { values: s.rows },
    mark: { type: 'line', strokeWidth: s.width, clip: true, interpolate: 'linear' },
    encoding: {
      x: linearAxis('x', xl, opts.xlabel ?? 'step', { tickCount: 8 }),
      y: {
        field: 'y',
        type: 'quantitative',
        scale: logY ? { type: 'log', domain: yl, nice: false } : { domain: yl, nice: false, zero: false },
        axis: { title: opts.ylabel ?? 'loss', ...(logY ? { format: '~g', values: logTicks(yl[0], yl[1]) } : {}) },
      },
      color: {
        datum: s.label,
        type: 'nominal',
        scale: { domain: labels, range: colors },
        legend: k === 0 && series.length > 1 ? { title: null, orient: 'top-right', fillColor: 'rgba(255,255,255,0.85)', padding: 6, symbolType: 'stroke', symbolStrokeWidth: 2 } : k === 0 ? null : undefined,
      },
    },
  }));
  return frame(opts, w, h, { layer });
}

// ---------------------------------------------------------------------------------------------
// Fréchet distance against network evaluations

export interface FdSeries {
  /** The sampler, e.g. 'DDIM' or 'ancestral'. */
  label: string;
  /** [network evaluations, Fréchet distance] pairs. */
  points: [number, number][];
  color?: string;
}

export interface FdOptions extends ChartOptions {
  /** The real-vs-real floor at the same n, drawn as a dashed line. */
  floor?: number;
  floorLabel?: string;
  /** More reference lines, e.g. { label: 'blurred real ×2', value: 46.4 }. */
  references?: { label: string; value: number }[];
  /** Log-scale y axis. Default false. */
  logY?: boolean;
}

/** Sample quality against cost: a line per sampler, x = network evaluations (log), y = Fréchet distance. */
export function fdCurveSpec(series: FdSeries[], opts: FdOptions = {}): TopLevelSpec {
  const [w, h] = plotSize(opts.size, [520, 320]);
  const rows = series.flatMap((s) => s.points.filter(([e, d]) => e > 0 && Number.isFinite(d)).map(([e, d]) => ({ nfe: e, fd: d, sampler: s.label })));
  const labels = series.map((s) => s.label);
  const colors = series.map((s, k) => s.color ?? PALETTE[k % PALETTE.length]);
  const refs = [...(opts.floor !== undefined ? [{ label: opts.floorLabel ?? 'floor (real vs real)', value: opts.floor }] : []), ...(opts.references ?? [])];
  const nfes = rows.map((r) => r.nfe);
  const ys = [...rows.map((r) => r.fd), ...refs.map((r) => r.value)];
  const xl: [number, number] = opts.xlim ?? (nfes.length ? [Math.min(...nfes) / 1.25, Math.max(...nfes) * 1.25] : [1, 1000]);
  let yl: [number, number];
  if (opts.ylim) yl = opts.ylim;
  else if (!ys.length) yl = [0, 1];
  else if (opts.logY) yl = [Math.min(...ys) / 1.3, Math.max(...ys) * 1.3];
  else yl = [0, Math.max(...ys) * 1.1];
  const x = { field: 'nfe', type: 'quantitative', scale: { type: 'log', domain: xl, nice: false }, axis: { title: opts.xlabel ?? 'network evaluations', format: '~g', values: logTicks(xl[0], xl[1]) } };
  const y = {
    field: 'fd',
    type: 'quantitative',
    scale: opts.logY ? { type: 'log', domain: yl, nice: false } : { domain: yl, nice: false, zero: true },
    axis: { title: opts.ylabel ?? 'Fréchet distance', ...(opts.logY ? { format: '~g', values: logTicks(yl[0], yl[1]) } : {}) },
  };
  const layer: Record<string, unknown>[] = [];
  if (refs.length) {
    layer.push({
      data: { values: refs.map((r) => ({ fd: r.value, label: r.label })) },
      layer: [
        { mark: { type: 'rule', strokeDash: [5, 4], color: '#777777', strokeWidth: 1.2 }, encoding: { y } },
        {
          mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -4, dy: -3, color: '#555555', fontSize: 11, x: 'width' },
          encoding: { y, text: { field: 'label' } },
        },
      ],
    });
  }
  layer.push({
    data: { values: rows },
    mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2, clip: true },
    encoding: {
      x,
      y,
      color: { field: 'sampler', type: 'nominal', scale: { domain: labels, range: colors }, legend: { title: null, orient: 'right' } },
    },
  });
  return frame(opts, w, h, { layer });
}
