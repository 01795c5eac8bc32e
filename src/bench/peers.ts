// Peers timed in the same run: TensorFlow.js on the same Dawn adapter (its WebGPU backend) and its
// WASM backend (single-threaded in Node). They are dev-dependencies of the benchmark only, loaded
// here by dynamic import; any failure is reported as a string, never thrown.
//
// The WebGPU backend finds the adapter through navigator.gpu, so navigator is defined with gpu =
// the object our Device was created from (Device.gpu) before the backend is imported. Results are
// read with `await t.data()` (dataSync needs OffscreenCanvas under Node). The WASM backend is
// pointed at the .wasm files in node_modules by file path (no network).
import type { Device } from '../gpu/device.js';
import type { UNet, UNetStage, ResBlock, AttnBlock, GroupNorm, Conv2d, Dense } from '../nn/unet.js';
import { median } from './timing.js';

export type PeerName = 'tfjs-webgpu' | 'tfjs-wasm';

export interface Peers {
  tf: any | null;
  available: PeerName[];
  errors: Partial<Record<PeerName | 'tfjs-core' | 'tfjs-gradients', string>>;
}

let loaded: Peers | null = null;

// Through a variable so bundlers leave these optional imports alone.
const dyn = (m: string): Promise<any> => import(m);

export async function loadPeers(device: Device, log: (s: string) => void): Promise<Peers> {
  if (loaded) return loaded;
  const p: Peers = { tf: null, available: [], errors: {} };
  loaded = p;
  try {
    const core = await dyn('@tensorflow/tfjs-core');
    p.tf = core.default?.matMul ? core.default : core;
  } catch (e: any) {
    p.errors['tfjs-core'] = `failed to load @tensorflow/tfjs-core: ${e?.message ?? e}`;
    return p;
  }
  try {
    await registerTfGradients();
  } catch (e: any) {
    p.errors['tfjs-gradients'] = `tf.js gradients not registered (no training-step peer): ${e?.message ?? e}`;
  }
  const tf = p.tf;
  try {
    const g = globalThis as any;
    if (!g.navigator || !g.navigator.gpu) {
      const nav = g.navigator ?? {};
      try {
        Object.defineProperty(nav, 'gpu', { value: device.gpu, configurable: true });
      } catch {
        /* navigator exists with a read-only shape: replace it below */
      }
      if (!g.navigator || g.navigator.gpu !== device.gpu) Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu: device.gpu }, configurable: true, writable: true });
    }
    await dyn('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
    await tf.ready();
    p.available.push('tfjs-webgpu');
  } catch (e: any) {
    p.errors['tfjs-webgpu'] = `${e?.message ?? e}`;
  }
  try {
    const wasm = await dyn('@tensorflow/tfjs-backend-wasm');
    const { createRequire } = await dyn('node:module');
    const { dirname, join } = await dyn('node:path');
    const req = createRequire(import.meta.url);
    const dir = dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    (wasm.setWasmPaths ?? wasm.default?.setWasmPaths)(join(dir, 'dist') + '/');
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    p.available.push('tfjs-wasm');
  } catch (e: any) {
    p.errors['tfjs-wasm'] = `${e?.message ?? e}`;
  }
  for (const [k, v] of Object.entries(p.errors)) log(`peer ${k} unavailable: ${v}`);
  return p;
}

/**
 * tfjs-core's Node build registers almost no gradients (the union package @tensorflow/tfjs does), and
 * its ES-module register_all_gradients.js uses extensionless imports that Node cannot load. Bundle
 * that file with esbuild and import it: the registry and engine it registers into are globals
 * shared with the loaded tfjs-core, so the gradients land where tf.grads looks for them.
 */
async function registerTfGradients(): Promise<void> {
  const esbuild = await dyn('esbuild');
  const { createRequire } = await dyn('node:module');
  const { join } = await dyn('node:path');
  const { tmpdir } = await dyn('node:os');
  const { pathToFileURL } = await dyn('node:url');
  const req = createRequire(import.meta.url);
  const out = join(tmpdir(), `scoregpu-tfjs-gradients-${process.pid}.mjs`);
  await esbuild.build({
    entryPoints: [req.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')],
    bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'silent',
  });
  try {
    await dyn(pathToFileURL(out).href);
  } finally {
    (await dyn('node:fs')).rmSync(out, { force: true });
  }
}

export async function useBackend(p: Peers, name: PeerName): Promise<void> {
  await p.tf.setBackend(name === 'tfjs-webgpu' ? 'webgpu' : 'wasm');
  await p.tf.ready();
}

/**
 * Median ms of fn (which returns a tf tensor) on the current backend: `inner` calls are queued,
 * the last one's data awaited; tensors are disposed.
 */
export async function timePeer(tf: any, fn: () => any, opts: { reps?: number; targetMs?: number; maxInner?: number } = {}): Promise<{ medianMs: number; reps: number; inner: number }> {
  const once = async () => {
    const t = tf.tidy(fn);
    await t.data();
    t.dispose();
  };
  await once(); // warm-up: shader compilation / wasm setup
  let t0 = performance.now();
  let inner = 1;
  if ((opts.targetMs ?? 50) > 0) {
    // a single timed call sizes the batch of calls per repetition (skipped for whole-network jobs)
    await once();
    const single = performance.now() - t0;
    inner = Math.max(1, Math.min(opts.maxInner ?? 50, Math.round((opts.targetMs ?? 50) / Math.max(single, 1e-3))));
  }
  const times: number[] = [];
  for (let r = 0; r < (opts.reps ?? 3); r++) {
    t0 = performance.now();
    const outs = [];
    for (let k = 0; k < inner; k++) outs.push(tf.tidy(fn));
    await outs[outs.length - 1].data();
    for (const o of outs) o.dispose();
    times.push((performance.now() - t0) / inner);
  }
  return { medianMs: median(times), reps: times.length, inner };
}

export function randTf(tf: any, shape: number[], scale = 0.5): any {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin(i * 12.9898 + 1) * scale;
  return tf.tensor(d, shape);
}

/**
 * One training step of that U-Net on the peer, as ours in the benchmark: the σ-weighted DSM loss
 * ½/B·Σ(σ·s(x + σz, σ) + z)², its gradient by tf's autodiff and an Adam update (tf.js has no AdamW;
 * the decoupled weight decay is a few element-wise ops per parameter). Returns the loss.
 */
export function tfUNetTrainStep(tf: any, net: UNet, B: number, sigmas: Float32Array): { run: () => any; dispose: () => void } {
  const { channels: C, imageSize: S } = net.cfg;
  const u = buildTfUNet(tf, net, true);
  const X = randTf(tf, [B, S, S, C]), Z = randTf(tf, [B, S, S, C], 0.8), Sg = tf.tensor(sigmas, [B, 1]);
  const opt = tf.train.adam(1e-4);
  const run = () =>
    opt.minimize(() => {
      const s4 = tf.reshape(Sg, [B, 1, 1, 1]);
      const s = u.forward(tf.add(X, tf.mul(s4, Z)), Sg);
      return tf.mul(tf.sum(tf.square(tf.add(tf.mul(s4, s), Z))), 0.5 / B);
    }, true, u.variables);
  return { run, dispose: () => (u.dispose(), opt.dispose(), X.dispose(), Z.dispose(), Sg.dispose()) };
}

/**
 * The same U-Net forward as src/nn/unet.ts, from tf ops in NHWC with the same shapes and parameter
 * count (weights are random, not trained): conv2d, GroupNorm via moments, SiLU, attention via
 * matMul + softmax, nearest resize, strided conv. The layer list is read from our module tree.
 */
export function buildTfUNet(tf: any, net: UNet, trainable = false): { forward: (x: any, sigma: any) => any; params: number; variables: any[]; dispose: () => void } {
  const weights: any[] = [];
  const variables: any[] = [];
  let count = 0;
  let seed = 1;
  const w = (shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = Math.sin((seed++ % 100003) * 12.9898) * scale;
    count += n;
    const t = trainable ? tf.variable(tf.tensor(d, shape)) : tf.tensor(d, shape);
    weights.push(t);
    if (trainable) variables.push(t);
    return t;
  };
  const conv = (c: Conv2d) => {
    const k = w([c.k, c.k, c.cin, c.cout], Math.sqrt(3 / (c.cin * c.k * c.k))), b = w([c.cout], 0);
    return (x: any) => tf.add(tf.conv2d(x, k, c.stride, c.k === 1 ? 'valid' : 'same'), b);
  };
  const dense = (d: Dense) => {
    const W = w([d.inFeatures, d.outFeatures], Math.sqrt(3 / d.inFeatures)), b = w([d.outFeatures], 0);
    // rank-3 inputs as one 2-D matmul: the same product, and tf.js's BatchMatMul gradient does not
    // reduce over a broadcast batch (shape error in the training-step peer)
    return (x: any) => {
      if (x.rank !== 3) return tf.add(tf.matMul(x, W), b);
      const [B, L, C] = x.shape;
      return tf.reshape(tf.add(tf.matMul(tf.reshape(x, [B * L, C]), W), b), [B, L, d.outFeatures]);
    };
  };
  const silu = (x: any) => tf.mul(x, tf.sigmoid(x));
  const gn = (g: GroupNorm) => {
    const gamma = w([g.numChannels], 1), beta = w([g.numChannels], 0);
    return (x: any, act: boolean) => {
      const [B, H, W, C] = x.shape;
      const xr = tf.reshape(x, [B, H, W, g.groups, C / g.groups]);
      const { mean, variance } = tf.moments(xr, [1, 2, 4], true);
      const y = tf.reshape(tf.mul(tf.sub(xr, mean), tf.rsqrt(tf.add(variance, g.eps))), [B, H, W, C]);
      const z = tf.add(tf.mul(y, gamma), beta);
      return act ? silu(z) : z;
    };
  };
  const res = (r: ResBlock) => {
    const n1 = gn(r.norm1), c1 = conv(r.conv1), te = dense(r.temb), n2 = gn(r.norm2), c2 = conv(r.conv2);
    const sk = r.skip ? conv(r.skip) : null;
    return (x: any, temb: any) => {
      const B = x.shape[0];
      let h = c1(n1(x, true));
      h = tf.add(h, tf.reshape(te(temb), [B, 1, 1, r.cout]));
      h = c2(n2(h, true));
      return tf.add(sk ? sk(x) : x, h);
    };
  };
  const attn = (a: AttnBlock) => {
    const n = gn(a.norm), q = dense(a.q), k = dense(a.k), v = dense(a.v), o = dense(a.out);
    return (x: any) => {
      const [B, H, W, C] = x.shape;
      const h = tf.reshape(n(x, false), [B, H * W, C]);
      const s = tf.softmax(tf.mul(tf.matMul(q(h), k(h), false, true), 1 / Math.sqrt(C)));
      return tf.add(x, tf.reshape(o(tf.matMul(s, v(h))), [B, H, W, C]));
    };
  };
  const stage = (s: UNetStage) => {
    const r = res(s.res), a = s.attn ? attn(s.attn) : null;
    return (h: any, temb: any) => (a ? a(r(h, temb)) : r(h, temb));
  };
  const freqs = tf.tensor(net.noiseEmbedding.freqs, [1, net.noiseEmbedding.freqs.length]);
  weights.push(freqs);
  const e0 = dense(net.noiseEmbedding.embed0), e1 = dense(net.noiseEmbedding.embed1);
  const convIn = conv(net.convIn);
  const down = net.down.map((l) => ({ stages: l.stages.map(stage), down: l.down ? (l.down.conv ? conv(l.down.conv) : (x: any) => tf.avgPool(x, 2, 2, 'valid')) : null }));
  const mid = { r1: res(net.mid.res1), a: net.mid.attn ? attn(net.mid.attn) : null, r2: res(net.mid.res2) };
  const up = net.up.map((l) => ({ stages: l.stages.map(stage), up: l.up ? conv(l.up.conv) : null }));
  const normOut = gn(net.normOut), convOut = conv(net.convOut);
  const forward = (x: any, sigma: any) => {
    const a = tf.mul(tf.log(sigma), freqs);
    const temb = silu(e1(silu(e0(tf.concat([tf.sin(a), tf.cos(a)], 1)))));
    let h = convIn(x);
    const hs = [h];
    for (const l of down) {
      for (const s of l.stages) hs.push((h = s(h, temb)));
      if (l.down) hs.push((h = l.down(h)));
    }
    h = mid.r1(h, temb);
    if (mid.a) h = mid.a(h);
    h = mid.r2(h, temb);
    for (const l of up) {
      for (const s of l.stages) h = s(tf.concat([h, hs.pop()], 3), temb);
      if (l.up) {
        const [, H, W] = h.shape;
        h = l.up(tf.image.resizeNearestNeighbor(h, [2 * H, 2 * W]));
      }
    }
    h = convOut(normOut(h, true));
    return tf.div(h, tf.reshape(sigma, [-1, 1, 1, 1]));
  };
  return { forward, params: count, variables, dispose: () => weights.forEach((t) => t.dispose()) };
}
