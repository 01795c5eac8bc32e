// Per-dispatch profile of the reference U-Net (forward, or the whole training step: the trainer's
// own, Trainer.runStep via ./workload.ts): the work is recorded once, every dispatch is labelled from the call stack at the time it was
// issued (the src/nn layer, the src/tensor/ops entry, the kernel and its output shape), then the
// recording is replayed with one compute pass per dispatch and GPU timestamps at each pass's
// beginning and end ('timestamp-query'; lavapipe has it). Without timestamps each dispatch is
// timed alone by wall clock (several launches per submit, minus nothing: an upper bound).
//
// Run: node scripts/profile-unet.mjs [--batch 8] [--train] [--reps 3] [--json]
import type { Device, Binding, Recording } from '../gpu/device.js';
import type { Kernel } from '../gpu/kernel.js';
import { Tensor } from '../tensor/tensor.js';
import type { UNetPreset } from '../nn/unet.js';
import { noGrad } from '../autograd/engine.js';
import { median } from './timing.js';
import { imageWorkload, type BenchProcess } from './workload.js';

export interface ProfiledDispatch {
  /** Innermost src/nn frame (e.g. "ResBlock.forward"), or "backward" when issued by the tape. */
  layer: string;
  /** Outermost src/tensor/ops entry (e.g. "conv2d", "groupNormWithStats", "binary"). */
  op: string;
  /** Kernel: file:entry. */
  kernel: string;
  /** Output (or first storage) binding shape, when a tensor. */
  shape: string;
  workgroups: [number, number, number];
  /** Median GPU time over the profiled replays, ms. */
  ms: number;
}

export interface ProfileResult {
  batch: number;
  mode: 'forward' | 'train';
  timer: 'timestamp' | 'wall';
  dispatches: ProfiledDispatch[];
  /** Sum of the per-dispatch medians, ms. */
  sumMs: number;
  /** Median wall time of the plain replay (one pass, one submit), ms. */
  replayMs: number;
  /** Buffer → texture copies of staged packs (texel_out.ts): in the plain replay, not in sumMs. */
  textureCopies: number;
}

interface Tag {
  stack: string;
  kernel: string;
  shape: string;
}

function frames(stack: string): { fn: string; file: string }[] {
  const out: { fn: string; file: string }[] = [];
  for (const line of stack.split('\n').slice(1)) {
    const m = /^\s*at (?:(.*?) \()?(.*?):\d+:\d+\)?$/.exec(line);
    if (m) out.push({ fn: m[1] ?? '<anonymous>', file: m[2] });
  }
  return out;
}

function classify(t: Tag): { layer: string; op: string } {
  const fr = frames(t.stack);
  const nn = fr.find((f) => /src\/nn\//.test(f.file) && !/Module\.|materialize/.test(f.fn));
  const ops = fr.filter((f) => /src\/tensor\/ops\//.test(f.file));
  const tape = fr.some((f) => /src\/autograd\/engine/.test(f.file) && /^(grad|backward|gradOf)$/.test(f.fn));
  const outer = ops.length ? ops[ops.length - 1].fn.replace(/^Object\./, '') : fr.find((f) => /src\/autograd\/ops/.test(f.file))?.fn ?? '?';
  let layer = tape ? 'backward' : nn ? nn.fn.replace(/^Object\./, '') : 'other';
  if (tape) {
    // the rule runs as a closure inside the op that recorded it: name that op
    const ag = fr.find((f) => /src\/autograd\/ops/.test(f.file) && f.fn !== '<anonymous>' && !/^Object\.backward$/.test(f.fn));
    if (ag) layer = `backward:${ag.fn.replace(/^Object\./, '')}`;
  }
  return { layer, op: outer };
}

function shapeOf(b: Record<string, Binding>): string {
  const pick = (b.out ?? b.y ?? b.dst ?? Object.values(b).find((v: any) => v instanceof Tensor)) as any;
  if (pick instanceof Tensor) return pick.shape.join('×');
  return '';
}

/** Run `fn` with every dispatch it issues (or records) tagged by its call stack (the policy's observeDispatch). */
function tagged<T>(device: Device, fn: () => T): { result: T; tags: Tag[] } {
  const tags: Tag[] = [];
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const observeDispatch = (name: string, _wg: [number, number, number], bindings: Readonly<Record<string, unknown>>) => {
    tags.push({ stack: new Error().stack ?? '', kernel: name.replace(/\{.*$/, ''), shape: shapeOf(bindings as Record<string, Binding>) });
  };
  try {
    return { result: device.withPolicy({ observeDispatch }, fn), tags };
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Replay `rec` with one pass per dispatch and timestamps; per-dispatch ms. */
async function timestampReplay(device: Device, rec: { dispatches: { kernel: Kernel; bindGroup: GPUBindGroup; workgroups: [number, number, number] }[] }): Promise<number[]> {
  const dev = device.device;
  const n = rec.dispatches.length;
  const CHUNK = 2048; // ≤ 4096 queries per set
  const out: number[] = [];
  device.flush();
  for (let s = 0; s < n; s += CHUNK) {
    const m = Math.min(CHUNK, n - s);
    const qs = dev.createQuerySet({ type: 'timestamp', count: 2 * m });
    const res = dev.createBuffer({ size: 16 * m, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const rd = dev.createBuffer({ size: 16 * m, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = dev.createCommandEncoder();
    // the dispatches before this chunk run untimed, so the chunk sees the same inputs
    if (s > 0) {
      const pass = enc.beginComputePass();
      for (const d of rec.dispatches.slice(0, s)) {
        pass.setPipeline(d.kernel.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(...d.workgroups);
      }
      pass.end();
    }
    for (let i = 0; i < m; i++) {
      const d = rec.dispatches[s + i];
      const pass = enc.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.kernel.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
      pass.end();
    }
    enc.resolveQuerySet(qs, 0, 2 * m, res, 0);
    enc.copyBufferToBuffer(res, 0, rd, 0, 16 * m);
    dev.queue.submit([enc.finish()]);
    await rd.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(rd.getMappedRange().slice(0));
    rd.unmap();
    for (let i = 0; i < m; i++) out.push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    qs.destroy();
    res.destroy();
    rd.destroy();
  }
  return out;
}

/** Fallback: each dispatch launched `inner` times in one pass and submit, wall clock per launch. */
async function wallReplay(device: Device, rec: { dispatches: { kernel: Kernel; bindGroup: GPUBindGroup; workgroups: [number, number, number] }[] }, inner = 3): Promise<number[]> {
  const dev = device.device;
  const out: number[] = [];
  device.flush();
  for (const d of rec.dispatches) {
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let k = 0; k < inner; k++) {
      pass.setPipeline(d.kernel.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
    }
    pass.end();
    const t0 = performance.now();
    dev.queue.submit([enc.finish()]);
    await dev.queue.onSubmittedWorkDone();
    out.push((performance.now() - t0) / inner);
  }
  return out;
}

export interface ProfileOptions {
  batch?: number;
  train?: boolean;
  reps?: number;
  preset?: UNetPreset;
  /** The process the training step trains (default ncsn: the σ-conditioned network the peers run). */
  process?: BenchProcess;
  /** Force the wall-clock timer even when timestamps exist. */
  wall?: boolean;
}

export interface UNetWorkload {
  /**
   * Run the work once eagerly (pipelines, constants, scratch), then record it; `wrap` runs around
   * the recording (the profiler tags dispatches there).
   */
  prepare(wrap?: <T>(fn: () => T) => T): Promise<Recording>;
  /** One replay of the recorded work: the training step is Trainer.runStep, which also advances its RNG clock and Adam's step. */
  replay(): void;
  dispose(): void;
}

/**
 * The U-Net's forward (no-grad, on fixed pseudo-random inputs) or its training step — the trainer's
 * own (./workload.ts: batch gather from synthetic 8-bit images, the process's denoising loss,
 * backward, gradient norm, AdamW, EMA), as `scoregpu train --model unet` runs it.
 */
export function unetWorkload(device: Device, o: { batch: number; train?: boolean; preset?: UNetPreset; process?: BenchProcess }): UNetWorkload {
  const B = o.batch;
  const w = imageWorkload(device, { preset: o.preset ?? 'reference', batch: B, process: o.process ?? 'ncsn' });
  if (o.train) {
    const t = w.trainer;
    return {
      async prepare(wrap = (fn) => fn()) {
        if (t.step === 0) t.runStep(); // eager
        await device.sync();
        wrap(() => t.runStep()); // records, then replays
        const rec = t.recordedStep;
        if (!rec) throw new Error('unetWorkload: the trainer did not record its step');
        return rec;
      },
      replay: () => t.runStep(),
      dispose: () => w.dispose(),
    };
  }
  const { channels: C, imageSize: S } = w.net.cfg;
  const a = new Float32Array(B * C * S * S);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  const x = Tensor.fromArray(device, a, [B, C, S, S]).keep();
  // σ for NCSN's σ-conditioning, a step index for DDPM's t embedding
  const cond = Tensor.fromArray(device, Float32Array.from({ length: B }, (_, i) => (w.process.prediction === 'score' ? Math.exp(Math.sin(i * 3.1) * 2) : (i * 37) % w.process.N)), [B, 1]).keep();
  const body = () => device.scope(() => void noGrad(() => w.net.forward(x, cond)));
  let rec: Recording | null = null;
  return {
    async prepare(wrap = (fn) => fn()) {
      body();
      await device.sync();
      rec = wrap(() => device.record(body)).recording;
      return rec;
    },
    replay: () => rec?.replay(),
    dispose: () => {
      rec?.dispose();
      x.dispose();
      cond.dispose();
      w.dispose();
    },
  };
}

export async function profileUNet(device: Device, o: ProfileOptions = {}): Promise<ProfileResult> {
  const B = o.batch ?? 8;
  const reps = o.reps ?? 3;
  const work = unetWorkload(device, { batch: B, train: o.train, preset: o.preset, process: o.process });
  try {
    // warm-up (pipelines, scratch textures), then record with tags
    let tags: Tag[] = [];
    const recording = await work.prepare((fn) => {
      const r = tagged(device, fn);
      tags = r.tags;
      return r.result;
    });
    // the forward's recording has not run yet; the trainer's ran once as it was recorded
    work.replay();
    await device.sync();
    if (tags.length !== recording.dispatches.length) throw new Error(`profile: ${tags.length} tagged dispatches for ${recording.dispatches.length} recorded`);
    const replays: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      work.replay();
      await device.sync();
      replays.push(performance.now() - t0);
    }
    const useTs = !o.wall && device.features.has('timestamp-query');
    const runs: number[][] = [];
    for (let r = 0; r < reps; r++) runs.push(useTs ? await timestampReplay(device, recording as any) : await wallReplay(device, recording as any));
    const dispatches: ProfiledDispatch[] = tags.map((t, i) => {
      const { layer, op: o2 } = classify(t);
      return { layer, op: o2, kernel: t.kernel, shape: t.shape, workgroups: recording.dispatches[i].workgroups, ms: median(runs.map((r) => r[i])) };
    });
    const textureCopies = recording.commands.length - recording.dispatches.length;
    return {
      batch: B, mode: o.train ? 'train' : 'forward', timer: useTs ? 'timestamp' : 'wall', dispatches,
      sumMs: dispatches.reduce((s, d) => s + d.ms, 0), replayMs: median(replays), textureCopies,
    };
  } finally {
    work.dispose();
  }
}

/** Rows grouped by `key`, sorted by total time. */
export function groupProfile(p: ProfileResult, key: (d: ProfiledDispatch) => string): { key: string; n: number; ms: number; share: number }[] {
  const m = new Map<string, { n: number; ms: number }>();
  for (const d of p.dispatches) {
    const k = key(d);
    const e = m.get(k) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += d.ms;
    m.set(k, e);
  }
  return [...m].map(([k, v]) => ({ key: k, n: v.n, ms: v.ms, share: v.ms / p.sumMs })).sort((a, b) => b.ms - a.ms);
}

export function formatProfile(p: ProfileResult, top = 40): string {
  const lines: string[] = [];
  lines.push(`U-Net ${p.mode} at batch ${p.batch}: ${p.dispatches.length} dispatches, sum of per-dispatch times ${p.sumMs.toFixed(1)} ms (${p.timer}), plain replay ${p.replayMs.toFixed(1)} ms`);
  if (p.textureCopies) lines.push(`(${p.textureCopies} buffer → texture copies of staged packs run in the plain replay, not in the per-dispatch sum)`);
  const table = (title: string, rows: ReturnType<typeof groupProfile>, limit: number) => {
    lines.push('', title, `${'ms'.padStart(9)} ${'share'.padStart(6)} ${'n'.padStart(4)}  what`);
    for (const r of rows.slice(0, limit)) lines.push(`${r.ms.toFixed(2).padStart(9)} ${(100 * r.share).toFixed(1).padStart(5)}% ${String(r.n).padStart(4)}  ${r.key}`);
  };
  table('by op', groupProfile(p, (d) => d.op), 30);
  table('by kernel', groupProfile(p, (d) => d.kernel), 30);
  table('by op, kernel and output shape', groupProfile(p, (d) => `${d.op} · ${d.kernel} · ${d.shape}`), top);
  table('by layer', groupProfile(p, (d) => d.layer), 30);
  return lines.join('\n');
}
