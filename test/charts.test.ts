// The chart specs (src/io/charts.ts) rendered headless to PNG (src/io/render_node.ts): every chart
// kind comes out at the size its SVG says, is not blank, has dark marks and its series' colours,
// keeps a white margin (nothing runs off the edge), and a long title wraps instead of widening the
// picture. Also: the titled image grid, the font metrics, and that the spec module stays free of
// run-time imports (it bundles for the browser).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { fdCurveSpec, densitySpec, logTicks, lossCurveSpec, makeGrid, scatterSpec, scoreFieldSpec, wrapText, type TopLevelSpec } from '../src/io/charts.js';
import { chartFonts, imageGrid, renderChartPng, renderChartSvg, textWidth } from '../src/io/render_node.js';
import { sampleToy } from '../src/data/toy.js';

/** Decode an 8-bit RGB/RGBA PNG (non-interlaced) to RGB pixels. */
function decodePng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  let ch = 0;
  const idat: Uint8Array[] = [];
  while (o < png.length) {
    const len = dv.getUint32(o);
    const type = Buffer.from(png.subarray(o + 4, o + 8)).toString('latin1');
    const body = png.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8);
      height = dv.getUint32(o + 12);
      expect(body[8]).toBe(8);
      expect(body[12]).toBe(0);
      ch = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      expect(ch, `colour type ${body[9]}`).toBeGreaterThan(0);
    }
    if (type === 'IDAT') idat.push(body);
    o += 12 + len;
  }
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * ch;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= ch ? px[y * stride + i - ch] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= ch ? px[(y - 1) * stride + i - ch] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      px[y * stride + i] = (x + pred) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    // composite over white (resvg's PNGs are opaque here; be safe)
    const al = ch === 4 ? px[i * 4 + 3] / 255 : 1;
    for (let k = 0; k < 3; k++) rgb[i * 3 + k] = Math.round(px[i * ch + k] * al + 255 * (1 - al));
  }
  return { width, height, rgb };
}

interface Stats {
  std: number;
  darkFrac: number;
  /** Pixels within ±40 per channel of each of the given colours. */
  near: number[];
  /** Non-white pixels in the outer `border` pixels. */
  borderInk: number;
}

function stats(img: { width: number; height: number; rgb: Uint8Array }, colors: string[] = [], border = 8): Stats {
  const n = img.width * img.height;
  let s = 0;
  let s2 = 0;
  let dark = 0;
  let borderInk = 0;
  const targets = colors.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
  const near = targets.map(() => 0);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [img.rgb[3 * i], img.rgb[3 * i + 1], img.rgb[3 * i + 2]];
    const lum = 0.299 * r + 0.587 * g + 0.114 * b;
    s += lum;
    s2 += lum * lum;
    if (lum < 90) dark++;
    targets.forEach((t, k) => {
      if (Math.abs(r - t[0]) < 40 && Math.abs(g - t[1]) < 40 && Math.abs(b - t[2]) < 40) near[k]++;
    });
    const x = i % img.width;
    const y = Math.floor(i / img.width);
    if ((x < border || y < border || x >= img.width - border || y >= img.height - border) && lum < 250) borderInk++;
  }
  const mean = s / n;
  return { std: Math.sqrt(s2 / n - mean * mean), darkFrac: dark / n, near, borderInk };
}

/** Render a spec at scale 2; the PNG must be exactly twice the SVG's size. */
async function render(spec: TopLevelSpec) {
  const svg = await renderChartSvg(spec, { strict: true });
  const m = /<svg[^>]*width="([\d.]+)"[^>]*height="([\d.]+)"/.exec(svg);
  expect(m).not.toBeNull();
  const png = decodePng(await renderChartPng(spec, { scale: 2, strict: true }));
  expect(png.width).toBe(Math.round(2 * Number(m![1])));
  expect(png.height).toBe(Math.round(2 * Number(m![2])));
  return { svg, png, svgWidth: Number(m![1]), svgHeight: Number(m![2]) };
}

const LIM: [number, number] = [-4.5, 4.5];

describe('charts', () => {
  it('a chart font is found and measures text', () => {
    const f = chartFonts();
    expect(f.files.length, 'install fonts-dejavu-core (scripts/setup-system.sh does)').toBeGreaterThan(0);
    if (f.family === 'DejaVu Sans') {
      expect(textWidth('M', 10)).toBeCloseTo((1767 / 2048) * 10, 3); // DejaVu Sans 'M' advance
      expect(textWidth('MM', 10, true)).toBeGreaterThan(textWidth('MM', 10));
    }
    expect(textWidth('iiii', 12)).toBeLessThan(textWidth('WWWW', 12));
  });

  it('scatter: samples over held-out data', async () => {
    const data = sampleToy('moons', 2000, 1);
    const samples = sampleToy('moons', 1000, 2);
    const { png, svgWidth, svgHeight } = await render(
      scatterSpec([{ points: data, color: '#99aabb', label: 'data (held out)' }, { points: samples, color: '#d62728', label: 'samples' }], { title: 'langevin samples: dsm on moons', size: 300 }),
    );
    expect(svgWidth).toBeGreaterThan(300);
    expect(svgWidth).toBeLessThan(420);
    expect(svgHeight).toBeGreaterThan(300);
    expect(svgHeight).toBeLessThan(460);
    const s = stats(png, ['#d62728', '#99aabb']);
    expect(s.std).toBeGreaterThan(15);
    expect(s.darkFrac).toBeGreaterThan(0.002); // axes, labels, title
    expect(s.near[0]).toBeGreaterThan(2000); // the samples' red
    expect(s.near[1]).toBeGreaterThan(2000);
    expect(s.borderInk).toBe(0);
  });

  it('score field: arrows over the data', async () => {
    const data = sampleToy('swissroll', 1000, 1);
    const g = makeGrid(LIM, LIM, 15);
    const v = g.map((x, i) => -x + (i % 2 ? 0.3 * g[i - 1] : -0.3 * g[i + 1]));
    const { png } = await render(scoreFieldSpec(g, v, { title: 'learned score s(x): dsm on swissroll', xlim: LIM, ylim: LIM, data, size: 320 }));
    const s = stats(png, ['#1b1b1b', '#9ecae1']);
    expect(s.std).toBeGreaterThan(15);
    expect(s.near[0]).toBeGreaterThan(1500); // arrow ink
    expect(s.near[1]).toBeGreaterThan(500); // data under them
    expect(s.borderInk).toBe(0);
    expect(() => scoreFieldSpec(g, v.subarray(2))).toThrow(/vectors/);
  });

  it('density: heatmap of exp(−E) with a colour bar', async () => {
    const nx = 48;
    const g = makeGrid(LIM, LIM, nx);
    const vals = new Float32Array(nx * nx).map((_, i) => Math.exp(-((Math.hypot(g[2 * i], g[2 * i + 1]) - 2) ** 2) * 2));
    const { png, svgWidth } = await render(densitySpec(vals, { nx, xlim: LIM, ylim: LIM, title: 'exp(−E), energy model: deen on swissroll', label: 'exp(−E)', size: 300 }));
    expect(svgWidth).toBeGreaterThan(360); // plot + colour bar
    const s = stats(png, ['#440154', '#fde725']); // viridis ends
    expect(s.near[0]).toBeGreaterThan(20000);
    expect(s.near[1]).toBeGreaterThan(2000);
    expect(s.std).toBeGreaterThan(30);
    expect(s.borderInk).toBe(0);
    expect(() => densitySpec(vals.subarray(1), { nx })).toThrow(/do not fill/);
    // no seams between cells: a constant field is one flat colour across the middle of the plot
    const flat = (await render(densitySpec(new Float32Array(nx * nx).fill(1), { nx, xlim: LIM, ylim: LIM, size: 300 }))).png;
    const x0 = Math.round(flat.width * 0.3);
    const x1 = Math.round(flat.width * 0.6);
    const y0 = Math.round(flat.height * 0.3);
    const y1 = Math.round(flat.height * 0.7);
    const ref = [...flat.rgb.subarray((y0 * flat.width + x0) * 3, (y0 * flat.width + x0) * 3 + 3)];
    let off = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let k = 0; k < 3; k++) if (Math.abs(flat.rgb[(y * flat.width + x) * 3 + k] - ref[k]) > 2) off++;
    expect(off).toBe(0);
  });

  it('loss curve: many points, linear and log y', async () => {
    const steps = Array.from({ length: 20000 }, (_, i) => i * 5);
    const losses = steps.map((t) => (1 / (1 + t / 300) + 0.05) * (1 + 0.3 * Math.sin(t * 1.3)));
    for (const logY of [false, true]) {
      const spec = lossCurveSpec(steps, losses, { title: 'training loss: ddpm on fashion-mnist', logY });
      // thinned to at most ~2000 points per line
      const layers = (spec as unknown as { layer: { data: { values: unknown[] } }[] }).layer;
      for (const l of layers) expect(l.data.values.length).toBeLessThanOrEqual(2000);
      const { png } = await render(spec);
      const s = stats(png, ['#1f77b4']);
      expect(s.near[0]).toBeGreaterThan(1500);
      expect(s.darkFrac).toBeGreaterThan(0.002);
      expect(s.borderInk).toBe(0);
    }
    // junk does not throw
    await renderChartSvg(lossCurveSpec([0, 1, 2], [NaN, Infinity, -1], { logY: true }), { strict: true });
    expect(logTicks(0.03, 7)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2, 5]);
  });

  it('Fréchet distance against network evaluations: a line per sampler, log x, floor dashed', async () => {
    const spec = fdCurveSpec(
      [
        { label: 'DDIM', points: [[10, 30.1], [20, 17.3], [50, 16.3], [100, 15.9]] },
        { label: 'ancestral', points: [[100, 40], [250, 25], [1000, 14.2]] },
      ],
      { title: 'FD against network evaluations', floor: 2.82, references: [{ label: 'blurred real ×2', value: 46.4 }] },
    );
    const { png, svg } = await render(spec);
    expect(svg).toContain('floor (real vs real)');
    const s = stats(png, ['#1f77b4', '#ff7f0e']);
    expect(s.near[0]).toBeGreaterThan(800);
    expect(s.near[1]).toBeGreaterThan(800);
    expect(s.borderInk).toBe(0);
  });

  it('a long title wraps onto lines instead of running off the picture', async () => {
    const title = 'learned score s(x): a deliberately long title about dsm on swissroll that would run off the edge of a small chart';
    expect(wrapText(title, 300).length).toBeGreaterThan(1);
    const data = sampleToy('swissroll', 500, 1);
    const { png, svgWidth, svg } = await render(scatterSpec([{ points: data, label: 'data' }], { title, size: 300 }));
    expect(svgWidth).toBeLessThan(400);
    expect(svg).toContain('run off the edge');
    expect(stats(png).borderInk).toBe(0);
  });

  it('image grid with a title drawn by resvg', () => {
    const imgs = new Float32Array(16 * 28 * 28).map((_, i) => Math.sin(i / 37));
    const png = decodePng(imageGrid(imgs, [16, 1, 28, 28], 8, { title: 'ddpm step 4000: ddim, FD 16.3 (floor 2.8)', scale: 2 }));
    expect(png.width).toBe(8 * 58 + 2);
    expect(png.height).toBeGreaterThan(2 * 58 + 2 + 15);
    // the title band: dark text pixels on white above the first row of images
    const band = { width: png.width, height: png.height - (2 * 58 + 2), rgb: png.rgb.subarray(0, png.width * (png.height - (2 * 58 + 2)) * 3) };
    const s = stats(band, [], 2);
    expect(s.darkFrac).toBeGreaterThan(0.01);
    expect(s.borderInk).toBe(0);
  });

  it('the spec module has no run-time imports (it bundles for the browser)', () => {
    const src = readFileSync(new URL('../src/io/charts.ts', import.meta.url), 'utf8');
    const imports = src.split('\n').filter((l) => /^\s*(import|export)\b.*\bfrom\b/.test(l));
    for (const l of imports) expect(l).toMatch(/^\s*(import|export) type\b/);
  });
});
