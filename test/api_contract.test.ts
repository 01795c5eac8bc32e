// The public API as a contract (issue 15, items 2 and 3), checked on the BUILT package as a user
// gets it: `node build.mjs`, then a script in a scratch directory whose node_modules/scoregpu links
// to this repository imports 'scoregpu' (the package.json `exports` entry, dist/node/index.js —
// not src/). The script calls each signature the README and the foundation issue document, checks
// the numbers against plain-JS references, and tries wrong arguments; it prints one JSON report.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// Runs as a user's program: plain Node, `import ... from 'scoregpu'`.
const USER_SCRIPT = String.raw`
import { createDevice, Tensor, ops, grad, backward, noGrad, requireGrad, ShapeError, FileError, geometricSigmas, sampleToy, energyDistance, evaluateSamples } from 'scoregpu';

const out = { values: {}, errors: {}, sweep: [] };
const close = (a, b, tol = 1e-4) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])));
const attempt = (name, f) => {
  try {
    const r = f();
    out.errors[name] = { threw: false, result: String(r) };
  } catch (e) {
    out.errors[name] = { threw: true, name: e?.constructor?.name, isTypeError: e instanceof TypeError, isShapeError: e instanceof ShapeError, message: String(e?.message) };
  }
};

const device = await createDevice();

// README: the library example
const x = Tensor.fromArray(device, [1, 2, 3, 4, 5, 6], [2, 3]);
x.requiresGrad = true;
const y = ops.sum(ops.silu(ops.matmul(x, x, { transB: true })));
const [gx] = grad(y, [x], { createGraph: true });
{
  // reference: f = Σ_ij silu((X Xᵀ)_ij), ∂f/∂X = (G + Gᵀ) X with G = silu'(X Xᵀ)
  const X = [[1, 2, 3], [4, 5, 6]];
  const sig = (t) => 1 / (1 + Math.exp(-t));
  const S = X.map((a) => X.map((b) => a.reduce((s, v, k) => s + v * b[k], 0)));
  const G = S.map((r) => r.map((s) => sig(s) * (1 + s * (1 - sig(s)))));
  const ref = [];
  for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) ref.push([0, 1].reduce((acc, j) => acc + (G[i][j] + G[j][i]) * X[j][k], 0));
  out.values.readme = close(Array.from(await gx.toArray()), ref, 1e-4);
  out.values.readmeY = close([await y.item()], [S.flat().reduce((s, v) => s + v * sig(v), 0)], 1e-4);
}

// Foundation: matmul with transposes, add, mul, sum
{
  const a = Tensor.fromArray(device, [1, 2, 3, 4, 5, 6], [3, 2]);
  const b = Tensor.fromArray(device, [1, 0, -1, 2, 1, 0], [3, 2]);
  const atb = await ops.matmul(a, b, { transA: true }).toArray(); // [2,3]ᵀ... aᵀb: [2, 2]
  out.values.matmulTransA = close(Array.from(atb), [1 * 1 + 3 * -1 + 5 * 1, 1 * 0 + 3 * 2 + 5 * 0, 2 * 1 + 4 * -1 + 6 * 1, 2 * 0 + 4 * 2 + 6 * 0]);
  const abt = await ops.matmul(a, b, { transB: true }).toArray(); // [3, 3]
  const A = [[1, 2], [3, 4], [5, 6]], B = [[1, 0], [-1, 2], [1, 0]];
  out.values.matmulTransB = close(Array.from(abt), A.flatMap((r) => B.map((c) => r[0] * c[0] + r[1] * c[1])));
  out.values.add = close(Array.from(await ops.add(a, b).toArray()), [2, 2, 2, 6, 6, 6]);
  out.values.mul = close(Array.from(await ops.mul(a, b).toArray()), [1, 0, -3, 8, 5, 0]);
  out.values.sumAll = close(Array.from(await ops.sum(a).toArray()), [21]);
  out.values.sumAxis = close(Array.from(await ops.sum(a, 0).toArray()), [9, 12]);
}

// conv2d(x, w, { bias, stride, padding }) — and the positional bias
{
  const B = 2, Ci = 2, H = 5, W = 5, Co = 3, K = 3, stride = 2, pad = 1;
  const xs = Array.from({ length: B * Ci * H * W }, (_, i) => Math.sin(i * 0.7));
  const ws = Array.from({ length: Co * Ci * K * K }, (_, i) => Math.cos(i * 0.3) * 0.5);
  const bs = [0.1, -0.2, 0.3];
  const xt = Tensor.fromArray(device, xs, [B, Ci, H, W]), wt = Tensor.fromArray(device, ws, [Co, Ci, K, K]), bt = Tensor.fromArray(device, bs, [Co]);
  const Ho = Math.floor((H + 2 * pad - K) / stride) + 1, Wo = Ho;
  const ref = [];
  for (let n = 0; n < B; n++) for (let o = 0; o < Co; o++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) {
    let s = bs[o];
    for (let c = 0; c < Ci; c++) for (let u = 0; u < K; u++) for (let v = 0; v < K; v++) {
      const yy = i * stride - pad + u, xx = j * stride - pad + v;
      if (yy >= 0 && yy < H && xx >= 0 && xx < W) s += xs[((n * Ci + c) * H + yy) * W + xx] * ws[((o * Ci + c) * K + u) * K + v];
    }
    ref.push(s);
  }
  const viaOpts = ops.conv2d(xt, wt, { bias: bt, stride, padding: pad });
  out.values.conv2dShape = viaOpts.shape.join(',');
  out.values.conv2dOpts = close(Array.from(await viaOpts.toArray()), ref, 1e-3);
  out.values.conv2dPositional = close(Array.from(await ops.conv2d(xt, wt, bt, { stride, padding: pad }).toArray()), ref, 1e-3);
  // and it differentiates (the foundation's autograd) through the options form
  wt.requiresGrad = true;
  const [gw] = grad(ops.sum(ops.conv2d(xt, wt, { bias: bt, stride, padding: pad })), [wt]);
  out.values.conv2dGradShape = gw.shape.join(',');
  attempt('conv2dBiasNotTensor', () => ops.conv2d(xt, wt, { bias: 3 }));
  attempt('conv2dUnknownOption', () => ops.conv2d(xt, wt, { strid: 2 }));
  attempt('conv2dTwice', () => ops.conv2d(xt, wt, { bias: bt }, { stride: 2 }));
  attempt('conv2dRank', () => ops.conv2d(Tensor.fromArray(device, xs.slice(0, 50), [2, 25]), wt));
  attempt('conv2dChannels', () => ops.conv2d(xt, Tensor.fromArray(device, ws.slice(0, 27), [3, 1, 3, 3])));
  attempt('conv2dStride', () => ops.conv2d(xt, wt, { stride: 0 }));
}

// Seeds: an explicit seed repeats the draw; without one, successive draws differ
{
  const d1 = await ops.randn(device, [1000], 7).toArray(), d2 = await ops.randn(device, [1000], 7).toArray();
  const u1 = await ops.randn(device, [1000]).toArray(), u2 = await ops.randn(device, [1000]).toArray();
  const d3 = await ops.randn(device, [1000], 8).toArray();
  out.values.seedRepeats = Array.from(d1).every((v, i) => v === d2[i]);
  out.values.unseededDiffer = Array.from(u1).some((v, i) => v !== u2[i]);
  out.values.otherSeedDiffers = Array.from(d1).some((v, i) => v !== d3[i]);
  const m = d1.reduce((s, v) => s + v, 0) / d1.length;
  const v = d1.reduce((s, x) => s + (x - m) ** 2, 0) / d1.length;
  out.values.randnMoments = Math.abs(m) < 0.15 && Math.abs(v - 1) < 0.2;
  const r1 = await ops.rand(device, [64], 3, { low: 2, high: 5 }).toArray(), r2 = await ops.rand(device, [64], 3, { low: 2, high: 5 }).toArray();
  out.values.randSeedRepeats = Array.from(r1).every((v, i) => v === r2[i]) && r1.every((v) => v >= 2 && v < 5);
  const i1 = await ops.randint(device, [64], 10, 3).toArray(), i2 = await ops.randint(device, [64], 10, 3).toArray();
  out.values.randintSeedRepeats = Array.from(i1).every((v, i) => v === i2[i]);
}

// Wrong arguments: a TypeError (kind) or ShapeError naming the op and the parameter
{
  const a = Tensor.fromArray(device, [1, 2, 3, 4, 5, 6], [2, 3]);
  attempt('addNumber', () => ops.add(a, 3));
  attempt('matmulArray', () => ops.matmul(a, [1, 2]));
  attempt('sumNull', () => ops.sum(null));
  attempt('matmulInner', () => ops.matmul(a, a));
  attempt('matmul1d', () => ops.matmul(Tensor.fromArray(device, [1, 2, 3]), a));
  attempt('matmulOpts', () => ops.matmul(a, a, { transposeB: true }));
  attempt('addShapes', () => ops.add(a, Tensor.fromArray(device, [1, 2], [2])));
  attempt('reshapeString', () => ops.reshape(a, '3,2'));
  attempt('reshapeBad', () => ops.reshape(a, [4, 2]));
  attempt('concatEmpty', () => ops.concat([], 0));
  attempt('sumAxes', () => ops.sum(a, 'rows'));
  attempt('randnShape', () => ops.randn(device, [2, -1]));
  attempt('randnDevice', () => ops.randn(null, [2]));
  attempt('randnSeed', () => ops.randn(device, [2], '7'));
  attempt('extraArgs', () => ops.neg(a, a));
  attempt('fromArrayString', () => Tensor.fromArray(device, 'abc'));
  attempt('fromArrayDevice', () => Tensor.fromArray({}, [1, 2]));
  attempt('fromArrayFill', () => Tensor.fromArray(device, [1, 2, 3], [2, 2]));
  attempt('gradNotArray', () => grad(ops.sum(ops.square(requireGrad(Tensor.fromArray(device, [1, 2])))), a));
  try {
    await createDevice(null);
    out.errors.createDeviceNull = { threw: false };
  } catch (e) {
    out.errors.createDeviceNull = { threw: true, isTypeError: e instanceof TypeError, message: String(e?.message) };
  }
  attempt('sampleToyName', () => sampleToy('spirals', 10, 0));
  attempt('energyDistanceNull', () => energyDistance(null, [1, 2], 1));
  attempt('geometricSigmasL', () => geometricSigmas(1, 0.1, 2.5));
  const dead = Tensor.fromArray(device, [1, 2]);
  dead.dispose();
  attempt('disposed', () => ops.exp(dead));

  // every function in the ops table, with nothing and with null: a TypeError naming it
  for (const [name, f] of Object.entries(ops)) {
    if (typeof f !== 'function') continue;
    for (const args of [[], [null], [undefined, null]]) {
      try {
        f(...args);
        out.sweep.push({ name, args: args.length, ok: false, why: 'did not throw' });
      } catch (e) {
        const msg = String(e?.message);
        const ok = e instanceof TypeError && msg.startsWith('ops.' + name + ': ');
        if (!ok) out.sweep.push({ name, args: args.length, ok, why: (e?.constructor?.name ?? typeof e) + ': ' + msg });
      }
    }
  }
  out.values.opsCount = Object.values(ops).filter((f) => typeof f === 'function').length;
  // the root's plain functions too
  for (const [name, f] of Object.entries({ grad, backward, noGrad, requireGrad, geometricSigmas, sampleToy, energyDistance, evaluateSamples })) {
    try {
      f(null);
      out.sweep.push({ name, ok: false, why: 'did not throw' });
    } catch (e) {
      if (!(e instanceof TypeError && String(e.message).startsWith(name + ': '))) out.sweep.push({ name, ok: false, why: e?.constructor?.name + ': ' + e?.message });
    }
  }
}
console.log('REPORT ' + JSON.stringify(out));
device.destroy();
`;

let report: { values: Record<string, unknown>; errors: Record<string, { threw: boolean; name?: string; isTypeError?: boolean; isShapeError?: boolean; message?: string; result?: string }>; sweep: unknown[] };

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  expect(b.status, b.stderr).toBe(0);
  const dir = mkdtempSync(join(tmpdir(), 'scoregpu-user-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'scoregpu'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(join(dir, 'user.mjs'), USER_SCRIPT);
  const r = spawnSync(process.execPath, ['user.mjs'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  const line = r.stdout.split('\n').find((l) => l.startsWith('REPORT '));
  expect(line, `user script failed (${r.status}):\n${r.stderr}\n${r.stdout}`).toBeTruthy();
  report = JSON.parse(line!.slice(7));
}, 180_000);

/** The call threw `kind` with a message starting "<fn>: <param>" and matching `more`. */
function expectError(name: string, kind: 'TypeError' | 'ShapeError' | 'Error', prefix: string, more?: RegExp) {
  const e = report.errors[name];
  expect(e?.threw, `${name}: ${JSON.stringify(e)}`).toBe(true);
  if (kind === 'Error') expect(e.isTypeError, `${name}: ${e.name}: ${e.message}`).toBe(false);
  else if (kind === 'TypeError') expect(e.isTypeError, `${name}: ${e.name}: ${e.message}`).toBe(true);
  else expect(e.isShapeError, `${name}: ${e.name}: ${e.message}`).toBe(true);
  expect(e.message!.startsWith(prefix), `${name}: ${e.message}`).toBe(true);
  if (more) expect(e.message).toMatch(more);
}

describe('the built package, imported as a user would', () => {
  it('the README example and the foundation signatures give the right numbers', () => {
    const v = report.values;
    expect(v.readme).toBe(true);
    expect(v.readmeY).toBe(true);
    expect(v.matmulTransA).toBe(true);
    expect(v.matmulTransB).toBe(true);
    expect(v.add).toBe(true);
    expect(v.mul).toBe(true);
    expect(v.sumAll).toBe(true);
    expect(v.sumAxis).toBe(true);
  });

  it('conv2d(x, w, { bias, stride, padding }) works, as does the positional bias', () => {
    const v = report.values;
    expect(v.conv2dShape).toBe('2,3,3,3');
    expect(v.conv2dOpts).toBe(true);
    expect(v.conv2dPositional).toBe(true);
    expect(v.conv2dGradShape).toBe('3,2,3,3');
    expectError('conv2dBiasNotTensor', 'TypeError', 'ops.conv2d: bias (or options) ', /\.bias must be a Tensor, got number 3/);
    expectError('conv2dUnknownOption', 'TypeError', 'ops.conv2d: bias (or options) ', /no option 'strid'.*stride/);
    expectError('conv2dTwice', 'TypeError', 'ops.conv2d: options given twice');
    expectError('conv2dRank', 'ShapeError', 'ops.conv2d: x must be a 4-D Tensor, got shape [2, 25]');
    expectError('conv2dChannels', 'ShapeError', 'conv2d: input channels differ');
    expectError('conv2dStride', 'TypeError', 'ops.conv2d: bias (or options) ', /\.stride must be a positive integer, got number 0/);
  });

  it('seeds: ops.randn(device, shape, 7) twice is the same draw; unseeded draws differ', () => {
    const v = report.values;
    expect(v.seedRepeats).toBe(true);
    expect(v.unseededDiffer).toBe(true);
    expect(v.otherSeedDiffers).toBe(true);
    expect(v.randnMoments).toBe(true);
    expect(v.randSeedRepeats).toBe(true);
    expect(v.randintSeedRepeats).toBe(true);
  });

  it('wrong arguments: TypeError or ShapeError naming the function and the parameter', () => {
    expectError('addNumber', 'TypeError', 'ops.add: b must be a Tensor, got number 3');
    expectError('matmulArray', 'TypeError', 'ops.matmul: b must be a Tensor of rank ≥ 2, got array [1, 2]');
    expectError('sumNull', 'TypeError', 'ops.sum: x must be a Tensor, got null');
    expectError('matmulInner', 'ShapeError', 'matmul: inner dimensions differ');
    expectError('matmul1d', 'ShapeError', 'ops.matmul: a must be a Tensor of rank ≥ 2, got shape [3]');
    expectError('matmulOpts', 'TypeError', "ops.matmul: opts has no option 'transposeB' (valid: transA, transB)");
    expectError('addShapes', 'ShapeError', 'add: shapes [2, 3] and [2] do not broadcast');
    expectError('reshapeString', 'TypeError', 'ops.reshape: shape must be a shape');
    expectError('reshapeBad', 'ShapeError', 'reshape: cannot view shape [2, 3]');
    expectError('concatEmpty', 'TypeError', 'ops.concat: xs must be a non-empty array of Tensors, got array []');
    expectError('sumAxes', 'TypeError', "ops.sum: axes must be an integer or an array of integers or undefined, got string 'rows'");
    expectError('randnShape', 'TypeError', 'ops.randn: shape must be a shape');
    expectError('randnDevice', 'TypeError', 'ops.randn: device must be a Device, got null');
    expectError('randnSeed', 'TypeError', "ops.randn: seed must be a finite number or undefined, got string '7'");
    expectError('extraArgs', 'TypeError', 'ops.neg: takes at most 1 argument (x), got 2');
    expectError('fromArrayString', 'TypeError', "Tensor.fromArray: data must be an array of numbers or a typed array, got string 'abc'");
    expectError('fromArrayDevice', 'TypeError', 'Tensor.fromArray: device must be a Device');
    expectError('fromArrayFill', 'ShapeError', 'Tensor.fromArray: 3 values do not fill shape [2, 2]');
    expectError('gradNotArray', 'TypeError', 'grad: inputs must be a non-empty array of Tensors, got Tensor[2, 3]');
    expectError('sampleToyName', 'Error', "unknown toy data set 'spirals'; valid: swissroll");
    expectError('createDeviceNull', 'TypeError', 'createDevice: opts must be an options object, got null');
    expectError('energyDistanceNull', 'TypeError', 'energyDistance: x must be an array of numbers');
    expectError('geometricSigmasL', 'TypeError', 'geometricSigmas: L must be a positive integer, got number 2.5');
    expectError('disposed', 'TypeError', 'ops.exp: x is a disposed Tensor[2]');
  });

  it('every function in the ops table and the root rejects missing and null arguments by name', () => {
    expect(report.values.opsCount as number).toBeGreaterThanOrEqual(55);
    expect(report.sweep).toEqual([]);
  });
});
