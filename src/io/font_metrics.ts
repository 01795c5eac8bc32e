// Advance widths from a TrueType/OpenType font file (the 'head', 'hhea', 'hmtx' and 'cmap'
// tables), so a headless chart renderer can lay text out with the widths of the font that will
// draw it. No kerning, no shaping: enough for axis labels, legends and titles. Pure TypeScript.

export interface FontMetrics {
  /** Width of `text` at `fontSize` pixels. Characters the font lacks count as 0.6 em. */
  width(text: string, fontSize: number): number;
}

/** Parse a .ttf/.otf file (or the first font of a .ttc collection). Throws on anything else. */
export function parseFontMetrics(bytes: Uint8Array): FontMetrics {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let base = 0;
  if (dv.getUint32(0) === 0x74746366) base = dv.getUint32(12); // 'ttcf': first font's offset table
  const tag = dv.getUint32(base);
  if (tag !== 0x00010000 && tag !== 0x4f54544f && tag !== 0x74727565) throw new Error('not a TrueType/OpenType font');
  const tables = new Map<string, number>();
  const n = dv.getUint16(base + 4);
  for (let i = 0; i < n; i++) {
    const r = base + 12 + 16 * i;
    const name = String.fromCharCode(bytes[r], bytes[r + 1], bytes[r + 2], bytes[r + 3]);
    tables.set(name, dv.getUint32(r + 8));
  }
  const need = (t: string) => {
    const o = tables.get(t);
    if (o === undefined) throw new Error(`font has no '${t}' table`);
    return o;
  };
  const unitsPerEm = dv.getUint16(need('head') + 18);
  const nHMetrics = dv.getUint16(need('hhea') + 34);
  const hmtx = need('hmtx');
  const advance = (glyph: number) => dv.getUint16(hmtx + 4 * Math.min(glyph, nHMetrics - 1));
  const glyphOf = cmapLookup(dv, need('cmap'));
  const cache = new Map<number, number>();
  const em = (cp: number) => {
    let w = cache.get(cp);
    if (w === undefined) {
      const g = glyphOf(cp);
      w = g ? advance(g) / unitsPerEm : 0.6;
      cache.set(cp, w);
    }
    return w;
  };
  return {
    width(text, fontSize) {
      let w = 0;
      for (const ch of text) w += em(ch.codePointAt(0)!);
      return w * fontSize;
    },
  };
}

/** Code point → glyph index from a Unicode cmap subtable (format 4 for the BMP, or 12). */
function cmapLookup(dv: DataView, cmap: number): (cp: number) => number {
  const n = dv.getUint16(cmap + 2);
  let f4 = -1;
  let f12 = -1;
  for (let i = 0; i < n; i++) {
    const r = cmap + 4 + 8 * i;
    const platform = dv.getUint16(r);
    const encoding = dv.getUint16(r + 2);
    const sub = cmap + dv.getUint32(r + 4);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    const format = dv.getUint16(sub);
    if (format === 4 && f4 < 0) f4 = sub;
    if (format === 12 && f12 < 0) f12 = sub;
  }
  if (f12 >= 0) {
    const groups = dv.getUint32(f12 + 12);
    return (cp) => {
      for (let i = 0; i < groups; i++) {
        const g = f12 + 16 + 12 * i;
        const start = dv.getUint32(g);
        const end = dv.getUint32(g + 4);
        if (cp >= start && cp <= end) return dv.getUint32(g + 8) + (cp - start);
      }
      return 0;
    };
  }
  if (f4 < 0) throw new Error('font has no Unicode cmap (format 4 or 12)');
  const segs = dv.getUint16(f4 + 6) / 2;
  const ends = f4 + 14;
  const starts = ends + 2 * segs + 2;
  const deltas = starts + 2 * segs;
  const ranges = deltas + 2 * segs;
  return (cp) => {
    if (cp > 0xffff) return 0;
    for (let i = 0; i < segs; i++) {
      if (cp > dv.getUint16(ends + 2 * i)) continue;
      const start = dv.getUint16(starts + 2 * i);
      if (cp < start) return 0;
      const delta = dv.getInt16(deltas + 2 * i);
      const ro = dv.getUint16(ranges + 2 * i);
      if (ro === 0) return (cp + delta) & 0xffff;
      const gi = dv.getUint16(ranges + 2 * i + ro + 2 * (cp - start));
      return gi === 0 ? 0 : (gi + delta) & 0xffff;
    }
    return 0;
  };
}
