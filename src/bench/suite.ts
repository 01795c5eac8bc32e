// The benchmark suite (`scoregpu bench`, `npm run bench`): the groups of ./groups/ (one file each,
// listed in groups/index.ts), run in order with what they share — the adapter's ceilings, the
// peers, the row list. Every entry is timed with warm-up and the median of repetitions
// synchronised on the queue (./timing.ts); small kernels are launched many times per repetition so
// the submit round trip does not dominate. Rates: GFLOP/s for arithmetic, GB/s (bytes read +
// written, counted once each) for memory-bound kernels, each also as a fraction of the adapter's
// own ceilings measured in the same run (./ceilings.ts). Peers (TensorFlow.js WebGPU on the same
// adapter, and WASM) are timed on the same shapes where asked (./peers.ts); `vs` ratios are
// ours/peer in rate (> 1: ours is faster).
import type { Device } from '../gpu/device.js';
import { describeCaps } from '../gpu/caps.js';
import { measureFma, measureCopy, type Ceilings } from './ceilings.js';
import { loadPeers, useBackend, timePeer, type Peers, type PeerName } from './peers.js';
import { BENCH_GROUPS } from './groups/index.js';
import type { BenchContext, BenchEntry, BenchInfo, BenchOptions, PeerFigure } from './group.js';

export type { BenchEntry, BenchOptions, PeerFigure } from './group.js';

/** The group names, in the order a run measures them. */
export const GROUPS: readonly string[] = BENCH_GROUPS.map((g) => g.name);

const fmt = (x: number | undefined, w: number, digits = 2) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(digits)).padStart(w);

function line(e: BenchEntry): string {
  const rate = e.gflops !== undefined ? `${fmt(e.gflops, 8)} GFLOP/s` : e.gbps !== undefined ? `${fmt(e.gbps, 8)} GB/s   ` : ''.padStart(17);
  const frac = e.ofFma !== undefined ? ` ${fmt(100 * e.ofFma, 5, 1)}% fma` : e.ofCopy !== undefined ? ` ${fmt(100 * e.ofCopy, 5, 1)}% bw ` : ''.padStart(10);
  let s = `${e.group.padEnd(9)} ${e.name.padEnd(30)} ${e.shape.padEnd(30)} ${fmt(e.ms, 10, e.ms < 1 ? 3 : 1)} ms ${rate}${frac}`;
  for (const [k, v] of Object.entries(e.peers ?? {})) {
    if (!v) continue;
    if (v.error) s += ` | ${k}: ${v.error.slice(0, 40)}`;
    else s += ` | ${k} ${v.gflops !== undefined ? fmt(v.gflops, 0) + ' GFLOP/s' : fmt(v.ms, 0, 1) + ' ms'} (ours ×${fmt(v.ratio, 0)})`;
  }
  if (typeof e.note === 'string') s += `  [${e.note}]`;
  return s;
}

export async function runBench(device: Device, o: BenchOptions = {}) {
  const log = o.log ?? (() => {});
  const quick = !!o.quick;
  const entries: BenchEntry[] = [];
  const only = o.only?.map((s) => s.trim()).filter(Boolean);
  for (const g of only ?? []) if (!GROUPS.includes(g)) throw new Error(`bench: unknown group '${g}'; valid: ${GROUPS.join(', ')}`);
  const groups = BENCH_GROUPS.filter((g) => !only || only.includes(g.name));
  const t0 = performance.now();
  const info = describeCaps(device.caps);
  const loadAtStart = (globalThis as any).process?.getBuiltinModule?.('node:os')?.loadavg?.();
  log(`scoregpu bench (${quick ? 'quick' : 'full'}${o.full ? ', U-Net at batch 64' : ''}) on ${device.info.description || device.info.device || device.info.vendor}`);

  // ------------------------------------------------------------- ceilings (whenever a group's rows are fractions of them)
  let ceilings: Ceilings | null = null;
  if (groups.some((g) => g.ceilings)) {
    const fma = await measureFma(device, quick);
    const copy = await measureCopy(device, quick);
    ceilings = {
      fmaGflops: fma.gflops,
      fmaPerWorkgroupSize: fma.perWg,
      copyBufferToBufferGBps: copy.b2b,
      copyKernelGBps: copy.kernel,
      bandwidthGBps: Math.max(copy.b2b, copy.kernel),
      copyBytes: copy.bytes,
      note: 'FMA-only kernel: 8 independent vec4 accumulators, 16 fma per loop trip, 2 FLOP per fma lane; copies count bytes read + written',
    };
  }
  const c = ceilings;
  const add = (e: BenchEntry) => {
    // ours/peer from the figures as they stand now (a second pass may have improved either side)
    for (const f of Object.values(e.peers ?? {})) if (f?.ms !== undefined) f.ratio = f.ms / e.ms;
    if (e.gflops !== undefined && e.ofFma === undefined) e.ofFma = c ? e.gflops / c.fmaGflops : undefined;
    if (e.gbps !== undefined && e.ofCopy === undefined) e.ofCopy = c ? e.gbps / c.bandwidthGBps : undefined;
    entries.push(e);
    log(line(e));
  };

  // ------------------------------------------------------------- peers
  let peers: Peers | null = null;
  const peerInfo: { enabled: boolean; available: string[]; errors: Record<string, string> } = { enabled: !!o.peers, available: [], errors: {} };
  const needPeers = o.peers && groups.some((g) => g.peers);
  if (needPeers) {
    try {
      peers = await loadPeers(device, log);
      peerInfo.available = peers.available;
      peerInfo.errors = peers.errors as Record<string, string>;
    } catch (e: any) {
      peerInfo.errors.load = `${e?.message ?? e}`;
    }
  }
  /**
   * Time a peer figure on each available backend; errors are recorded, not thrown. Called again for
   * the same entry (a second pass), a backend keeps its faster pass, as ours does (`bestOf`).
   */
  const onPeers: BenchContext['onPeers'] = async (
    e: BenchEntry,
    fn: (tf: any) => { run: () => any; dispose: () => void },
    opts: { flops?: number; reps?: number; targetMs?: number; backends?: PeerName[] } = {},
  ) => {
    if (!peers || !peers.tf) return;
    e.peers ??= {};
    for (const name of opts.backends ?? peers.available) {
      if (!peers.available.includes(name)) continue;
      try {
        await useBackend(peers, name);
        const tf = peers.tf;
        const job = fn(tf);
        try {
          const t = await timePeer(tf, job.run, { reps: opts.reps ?? (quick ? 2 : 3), targetMs: opts.targetMs ?? (quick ? 30 : 80) });
          const prev = e.peers[name];
          if (prev?.ms !== undefined && prev.ms <= t.medianMs) continue;
          const fig: PeerFigure = { ms: t.medianMs };
          if (opts.flops) fig.gflops = opts.flops / t.medianMs / 1e6;
          e.peers[name] = fig;
        } finally {
          job.dispose();
        }
      } catch (err: any) {
        e.peers[name] ??= { error: `${err?.message ?? err}` };
      }
    }
  };
  // The target rows (square matmuls, the conv kernels) are measured in two passes a group apart in
  // full mode, and each side keeps its faster pass: this VM's speed drifts ±20 % over minutes, in
  // bursts that can cover every repetition of one row. `passMs` records both passes.
  const passes = quick ? 1 : 2;
  const bestOf = (e: BenchEntry | undefined, fresh: BenchEntry, flops: number): BenchEntry => {
    const passMs = [...((e?.passMs as number[]) ?? []), fresh.ms];
    const best = e && e.ms <= fresh.ms ? e : fresh;
    return { ...best, ms: best.ms, gflops: flops / best.ms / 1e6, passMs, peers: e?.peers };
  };

  const binfo: BenchInfo = {};
  const ctx: BenchContext = { device, o, quick, passes, log, add, bestOf, onPeers, peers, ceilings, info: binfo };
  for (const g of groups) await g.run(ctx);

  const res = {
    adapter: info.adapter,
    device: device.info,
    machine: { ...(await machine()), loadAverageAtStart: loadAtStart },
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    groups: only ?? [...GROUPS],
    seconds: (performance.now() - t0) / 1e3,
    ceilings,
    overheads: binfo.overheads ?? null,
    encode: binfo.encode ?? null,
    unet: binfo.unet ?? null,
    image: binfo.image ?? null,
    peers: peerInfo,
    entries,
  };
  log(`done in ${res.seconds.toFixed(0)} s`);
  return res;
}

async function machine(): Promise<Record<string, unknown>> {
  try {
    const os = (globalThis as any).process?.getBuiltinModule?.('node:os');
    if (!os) return {};
    const cpus = os.cpus();
    return { cpus: cpus.length, cpuModel: cpus[0]?.model, node: process.version, platform: `${os.platform()} ${os.arch()}`, loadAverageAtEnd: os.loadavg() };
  } catch {
    return {};
  }
}
