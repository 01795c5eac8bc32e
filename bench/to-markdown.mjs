// Render the JSON of `scoregpu bench --json` as a Markdown table (for the README's Benchmarks section).
// Usage: node bench/to-markdown.mjs results.json > table.md
import { readFileSync } from 'node:fs';

// `npm run bench > out.json` puts npm's own banner lines before the JSON: start at the first '{' line
const text = readFileSync(process.argv[2] ?? '/dev/stdin', 'utf8');
const start = text.search(/^\{/m);
if (start < 0) throw new Error(`${process.argv[2] ?? 'stdin'}: no JSON object (the output of scoregpu bench --json)`);
const r = JSON.parse(text.slice(start));
const f = (x, d = 2) => (x === undefined || x === null || !Number.isFinite(x) ? '' : x.toFixed(d));
const ms = (x) => (x === undefined ? '' : x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const out = [];
out.push(`Adapter: ${r.device?.description || JSON.stringify(r.adapter)}; ${r.machine?.cpus ?? '?'} × ${r.machine?.cpuModel ?? '?'}; Node ${r.machine?.node ?? '?'}; mode ${r.mode}; ${r.date}; ${f(r.seconds, 0)} s; load average ${(r.machine?.loadAverageAtStart ?? []).map((x) => x.toFixed(1)).join('/')} at start.`);
out.push('');
if (r.ceilings) out.push(`Ceilings measured in the same run: FMA-only kernel ${f(r.ceilings.fmaGflops, 1)} GFLOP/s; copyBufferToBuffer ${f(r.ceilings.copyBufferToBufferGBps, 1)} GB/s, vec4 copy kernel ${f(r.ceilings.copyKernelGBps, 1)} GB/s (read + write).`);
if (r.overheads) {
  const o = r.overheads;
  out.push(`Overheads: ${f(o.dispatchReplayUs, 0)} µs per empty dispatch replayed in one pass (${f(o.dispatchesPerSecond, 0)}/s), ${f(o.dispatchEagerUs, 0)} µs through device.run, ${f(o.submitUs, 0)} µs per empty submit, ${f(o.roundTripUs, 0)} µs submit + wait round trip.`);
}
if (r.encode) out.push(`Encode of one recorded toy-MLP training step: ${f(r.encode.encodeMs, 2)} ms JS vs ${f(r.encode.gpuMs, 1)} ms GPU = ${f(100 * r.encode.ratio, 1)}% (target < 5%); the whole replay() call incl. queue.submit ${f(r.encode.replayCallMs, 2)} ms = ${f(100 * r.encode.replayCallRatio, 1)}%.`);
out.push('');
out.push('| group | what | shape | ms | rate | of ceiling | tfjs-webgpu | tfjs-wasm |');
out.push('| --- | --- | --- | ---: | ---: | ---: | --- | --- |');
for (const e of r.entries) {
  const rate = e.imgPerSec !== undefined ? `${f(e.imgPerSec, e.imgPerSec < 10 ? 2 : 1)} img/s` : e.gflops !== undefined ? `${f(e.gflops)} GFLOP/s` : e.gbps !== undefined ? `${f(e.gbps)} GB/s` : e.stepsPerSecond !== undefined ? `${f(e.stepsPerSecond, 0)} steps/s` : '';
  const frac = e.ofFma !== undefined ? `${f(100 * e.ofFma, 1)}% FMA` : e.ofCopy !== undefined ? `${f(100 * e.ofCopy, 1)}% copy` : '';
  const peer = (p) => {
    if (!p) return '';
    if (p.error) return `error: ${p.error.slice(0, 70)}`;
    const val = p.gflops !== undefined ? `${f(p.gflops)} GFLOP/s` : p.imgPerSec !== undefined ? `${ms(p.ms)} ms, ${f(p.imgPerSec, 2)} img/s` : `${ms(p.ms)} ms`;
    return `${val} (ours ×${f(p.ratio)})`;
  };
  let what = e.name;
  if (e.note && (e.group === 'unet' || e.group === 'image' || e.group === 'mlp' || e.group === 'autotune')) what += ` — ${e.note}`;
  out.push(`| ${e.group} | ${what} | ${e.shape} | ${ms(e.ms)} | ${rate} | ${frac} | ${peer(e.peers?.['tfjs-webgpu'])} | ${peer(e.peers?.['tfjs-wasm'])} |`);
}
console.log(out.join('\n'));
