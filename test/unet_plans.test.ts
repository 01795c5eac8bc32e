// The kernel plans the small U-Net gets on a CPU adapter with subgroups (lavapipe), as
// `scoregpu bench --plans` prints them (src/bench/plans.ts): one plan per conv and gradient,
// each the algorithm the measured rules of conv2d_plan.ts / matmul_plan.ts name for its shape —
// written out here per rule, not read back from the plan functions.
import { describe, it, expect, beforeAll } from 'vitest';
import { device } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { createUNet } from '../src/nn/unet.js';
import { materialize } from '../src/nn/module.js';
import { noGrad } from '../src/autograd/engine.js';
import { Tensor } from '../src/tensor/tensor.js';
import { unetPlans, type OpPlan } from '../src/bench/plans.js';
import type { ConvPlan } from '../src/tensor/ops/conv2d_plan.js';
import type { MatmulPlan } from '../src/tensor/ops/matmul_plan.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const B = 64;
const strip = (M: number, N: number) => (Math.ceil(M / 64) * Math.ceil(N / 32) >= 32 ? 'strip 64x4' : 'strip 32x4');

/** What each conv call should run, by the rules (CPU adapter with subgroups, default policy). */
function expected(p: ConvPlan): string {
  const c = p.dims;
  const threeByThree = c.KH === 3 && c.s === 1;
  if (p.op === 'conv2d') {
    // implicit GEMM unless under 4 reduction channels or 16 output channels; 7×7 blocks where 3×3 stride-1 outputs tile
    if (c.Cin < 4 || c.Cout < 16) return 'direct';
    return threeByThree && c.Ho % 7 === 0 ? 'implicit block 7x7' : `implicit ${strip(c.B * c.Ho * c.Wo, c.Cout)}`;
  }
  if (p.op === 'conv2dBackwardInput') {
    // the same kernel over gy: Cin output channels from Cout reduction channels; blocks up to 14×14
    if (c.Cout < 4 || c.Cin < 16) return 'direct';
    return threeByThree && c.H % 7 === 0 && c.H * c.W <= 196 ? 'implicit block 7x7' : `implicit ${strip(c.B * c.H * c.W, c.Cin)}`;
  }
  // weight gradient: [Cout, Cin·k²] from B·Ho·Wo; 32×8 from 32 output channels (gy as NHWC4), 16×8 below
  if (c.Cout < 8 || c.Cin * c.KH * c.KW < 16) return 'direct';
  return c.Cout >= 32 ? 'implicit 32x8 nhwc4' : 'implicit 16x8 nchw_t';
}

function actual(p: ConvPlan): string {
  if (p.algorithm !== 'implicit') return p.algorithm;
  if ('weightGrad' in p) return `implicit ${p.weightGrad.tile.tm}x${p.weightGrad.tile.tn} ${p.weightGrad.nhwc ? 'nhwc4' : 'nchw_t'}`;
  return `implicit ${'block' in p.tile ? `block ${p.tile.block}` : `strip ${p.tile.tm}x${p.tile.tn}`}`;
}

/** Matmuls: the texture GEMM once the GEMM outweighs its packing (all sides ≥ 16, ≥ 2²² multiply-adds), else A shared by subgroup broadcast where aligned. */
function expectedMatmul(p: MatmulPlan): string {
  const q = p.problem;
  if (q.N <= 8 || q.K <= 8 || q.M <= 8) return 'small';
  if (Math.min(q.M, q.N, q.K) >= 16 && q.batch * q.M * q.N * q.K >= 1 << 22) return 'texture';
  const aligned = (q.transA ? q.M : q.K) % 4 === 0 && (q.transB ? q.K : q.N) % 4 === 0 && q.N % 4 === 0;
  return aligned ? 'subgroup' : 'scalar';
}

describe('the small U-Net\'s kernel plans', () => {
  it('every conv and matmul of a forward and a training step at batch 64 takes the path its rule names', async (ctx) => {
    if (!(d.caps.cpu && d.caps.subgroups)) return ctx.skip();
    const { forward, train } = await unetPlans(d, { preset: 'small', batch: B });
    const convLayers = createUNet('small').namedParameters().filter(([, p]) => p.shape.length === 4).length;
    const convs = (ps: OpPlan[], op: string) => ps.filter((p): p is ConvPlan => p.op === op);
    // one forward plan per conv layer; in training also one input gradient each (but the first
    // conv's: the image needs none) and one weight gradient each
    expect(convs(forward, 'conv2d').length).toBe(convLayers);
    expect(convs(train, 'conv2d').length).toBe(convLayers);
    expect(convs(train, 'conv2dBackwardInput').length).toBe(convLayers - 1);
    expect(convs(train, 'conv2dBackwardWeight').length).toBe(convLayers);
    const wrong: string[] = [];
    for (const p of [...forward, ...train]) {
      if (p.op === 'matmul') {
        const got = p.texTile ? 'texture' : p.small ? 'small' : p.config.variant;
        if (got !== expectedMatmul(p)) wrong.push(`${JSON.stringify(p.problem)}: ${got}, rule ${expectedMatmul(p)}`);
        continue;
      }
      if (actual(p) !== expected(p)) wrong.push(`${p.op} ${JSON.stringify(p.dims)}: ${actual(p)}, rule ${expected(p)}`);
      if (p.algorithm === 'implicit') expect(p.pack).toBe('nhwc4_px');
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
    // the paths this network exercises on this adapter, all of them
    const kinds = new Set([...forward, ...train].map((p) => (p.op === 'matmul' ? expectedMatmul(p) : expected(p).split(' ').slice(0, 2).join(' '))));
    expect([...kinds].sort()).toEqual(['direct', 'implicit 16x8', 'implicit 32x8', 'implicit block', 'implicit strip', 'subgroup', 'texture']);
  }, 120_000);

  it('its forward fuses every GroupNorm and up-sampling into the conv that reads it (no packing pass of their outputs)', async (ctx) => {
    if (!(d.caps.cpu && d.caps.subgroups)) return ctx.skip();
    const net = createUNet('small');
    const arena = materialize(d, net);
    const down = net.down.flatMap((l) => l.stages), up = net.up.flatMap((l) => l.stages);
    const blocks = down.length + 2 + up.length, upStages = up.length; // each up stage reads [h, skip] in 2 parts
    const ups = net.up.filter((l) => l.up).length, downs = net.down.filter((l) => l.down?.conv).length;
    const attns = [...down, ...up].filter((st) => st.attn).length + (net.mid.attn ? 1 : 0);
    const n = new Map<string, number>();
    const { channels: C, imageSize: S } = net.cfg;
    const count = (name: string) => {
      const k = name.replace(/\{.*$/, '').replace('+staged', ''); // kernel file:entry, staged or not
      n.set(k, (n.get(k) ?? 0) + 1);
    };
    d.withPolicy({ observeDispatch: count }, () => d.scope(() => {
      const x = Tensor.fromArray(d, new Float32Array(B * C * S * S).fill(0.1), [B, C, S, S]);
      const s = Tensor.fromArray(d, new Float32Array(B).fill(1), [B, 1]);
      noGrad(() => net.forward(x, s));
    }));
    await d.sync();
    // both norms of every residual block write their conv's input (one dispatch a part of a concatenation)
    expect(n.get('norm_pack.wgsl:main'), 'fused norms').toBe(2 * blocks + upStages);
    expect(n.get('up2_pack.wgsl:main'), 'fused up-samplings').toBe(ups);
    // the only input packing passes are the strided down-sampling convs' (their input is a block's output)
    expect(n.get('tex_pack.wgsl:nhwc4_px'), 'packing passes').toBe(downs);
    // plain norms: the attention blocks' and the output norm (the output conv takes the direct kernel)
    expect((n.get('norm.wgsl:main') ?? 0) + (n.get('norm_vec4.wgsl:main') ?? 0), 'plain norms').toBe(attns + 1);
    expect(n.get('pool2.wgsl:up2') ?? 0, 'no up-sampled tensor written').toBe(0);
    arena.dispose();
  }, 120_000);
});
