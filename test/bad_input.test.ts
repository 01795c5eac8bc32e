// Errors a user can act on (issue 15, items 1 and 5): the `scoregpu` command run as a user runs it
// on bad flags, bad files and a machine without an adapter ends with one line naming the thing and
// what is wrong and a non-zero exit — a stack trace only with --debug, and for genuine bugs. Dawn's
// start-up warnings stay off the terminal unless --debug. Then each bad-file class through the
// decoders and the run loaders directly.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, decodeNpy } from '../src/io/npy.js';
import { encodeSafetensors, decodeSafetensors } from '../src/io/safetensors.js';
import { encodeIdx, decodeIdx } from '../src/data/idx.js';
import { FileError } from '../src/gpu/errors.js';
import { isExpectedError, reportError } from '../src/cli/main.js';
import { UsageError } from '../src/cli/args.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = mkdtempSync(join(tmpdir(), 'scoregpu-bad-'));

/**
 * Run the command with its stderr on a pipe, as in a shell pipeline (`scoregpu ... 2>&1 | less`).
 * Node's own spawn gives a child a socket instead, which Dawn's warnings cannot be kept off (see
 * withStderrSilenced in src/gpu/device.ts); a terminal is checked separately with script(1).
 */
function cli(args: string[], env: Record<string, string> = {}) {
  const outFile = join(DIR, `stdout-${process.hrtime.bigint()}.txt`);
  const r = spawnSync('sh', ['-c', '"$@" 2>&1 >"$SG_OUT" | cat; exit $(cat "$SG_OUT.rc" 2>/dev/null || echo 99)', 'sh', 'sh', '-c', 'node "$0" "$@"; echo $? > "$SG_OUT.rc"', join(ROOT, 'bin/scoregpu.mjs'), ...args], {
    cwd: DIR, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', SCOREGPU_DEBUG: '', SG_OUT: outFile, ...env },
  });
  let out = '';
  try {
    out = readFileSync(outFile, 'utf8');
  } catch {
    /* no output */
  }
  return { code: r.status, out, err: r.stdout + r.stderr };
}

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const STACK = /^\s+at /m;

/** The command failed with exactly one line on stderr naming `what`, and no stack trace. */
function expectOneLine(r: { code: number | null; err: string; out: string }, what: RegExp, code = 1) {
  const lines = r.err.split('\n').filter((l) => l.trim());
  expect(r.code, r.err).toBe(code);
  expect(lines.length, r.err).toBe(1);
  expect(lines[0]).toMatch(what);
  expect(r.err).not.toMatch(STACK);
}

describe('the CLI: one line per expected failure', () => {
  let run = '';
  beforeAll(() => {
    // a tiny toy run whose files the cases below corrupt
    run = join(DIR, 'run');
    const t = cli(['train', '--data', 'swissroll', '--steps', '4', '--hidden', '8,8', '--batch', '32', '--log-every', '2', '--out', run]);
    expect(t.code, t.err).toBe(0);
  });

  it("keeps Dawn's start-up warnings off stderr unless --debug", () => {
    const r = cli(['info']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^adapter /);
    const d = cli(['info', '--debug']);
    expect(d.code).toBe(0);
    // lavapipe makes Dawn clamp two limits and say so; other adapters may print nothing
    if (/artificially reduced/.test(d.err)) expect(r.err).not.toMatch(/artificially reduced/);
    if (hasScript) {
      // on a terminal (script(1) gives the command a pty)
      const cmd = `XDG_RUNTIME_DIR=\${XDG_RUNTIME_DIR:-/tmp} SCOREGPU_DEBUG= '${process.execPath}' '${join(ROOT, 'bin/scoregpu.mjs')}' info`;
      const t = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
      expect(t.status, t.stdout + t.stderr).toBe(0);
      expect(t.stdout).toMatch(/adapter /);
      expect(t.stdout).not.toMatch(/Warning|artificially reduced/);
    }
  });

  it('bad flags and values: one line, exit 2', () => {
    expectOneLine(cli(['train', '--stepz', '3']), /^scoregpu train: unknown option --stepz; valid: .*--steps/, 2);
    expectOneLine(cli(['train', '--data', 'spirals3', '--steps', '1', '--out', join(DIR, 'x')]), /unknown data set 'spirals3'/);
    expectOneLine(cli(['info', '--backend', 'foo']), /^scoregpu info: .*backend 'foo'.*vulkan/);
  });

  it('no adapter: says what to install', () => {
    const r = cli(['info'], { VK_ICD_FILENAMES: join(DIR, 'no-such-icd.json'), VK_DRIVER_FILES: join(DIR, 'no-such-icd.json') });
    expectOneLine(r, /^scoregpu info: no WebGPU adapter found: install the Vulkan driver .* lavapipe .*bookworm-backports/);
  });

  it('bad files: one line naming the file; the stack only with --debug', () => {
    const ck = readFileSync(join(run, 'checkpoint.safetensors'));
    const cfg = readFileSync(join(run, 'config.json'));
    const variant = (name: string, bytes: Uint8Array) => {
      const d = join(DIR, name);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'checkpoint.safetensors'), bytes);
      writeFileSync(join(d, 'config.json'), cfg);
      return d;
    };
    const n = Number(Buffer.from(ck).readBigUInt64LE(0));
    const header = ck.subarray(8, 8 + n).toString();
    const rest = ck.subarray(8 + n);
    const withHeader = (h: string) => {
      const hb = Buffer.from(h);
      const out = Buffer.alloc(8 + hb.length + rest.length);
      out.writeBigUInt64LE(BigInt(hb.length), 0);
      hb.copy(out, 8);
      rest.copy(out, 8 + hb.length);
      return out;
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /empty file/],
      ['truncated', ck.subarray(0, ck.length - 100), /run past the .* data bytes/],
      ['hugeheader', (() => { const b = Buffer.from(ck); b.writeBigUInt64LE(1n << 60n, 0); return b; })(), /header length 1152921504606846976 runs past the end of the file/],
      ['foreign', withHeader(header.replace('scoregpu-run-1', 'someone-else')), /not a scoregpu run checkpoint/],
      ['othermodel', withHeader(header.replace(/\\"hidden\\":\[8,8\]/, '\\"hidden\\":[16,16]')), /has shape \[8, 2\], the model wants \[16, 2\]/],
      ['hugemodel', withHeader(header.replace(/\\"hidden\\":\[8,8\]/, '\\"hidden\\":[60000,60000]')), /config describes a model of about \d+ parameters/],
      ['nan', (() => {
        // NaN in the first EMA weight
        const h = JSON.parse(header);
        const key = Object.keys(h).find((k) => k.startsWith('ema.'))!;
        const b = Buffer.from(ck);
        b.writeFloatLE(NaN, 8 + n + h[key].data_offsets[0]);
        return b;
      })(), /holds NaN at element 0/],
    ];
    for (const [name, bytes, what] of cases) {
      const d = variant(name, bytes);
      const r = cli(['sample', '--run', d, '--n', '4', '--steps', '1']);
      expectOneLine(r, new RegExp(`^scoregpu sample: ${d.replace(/[/.]/g, '\\$&')}/checkpoint\\.safetensors: .*${what.source}`));
    }
    // samples to score: NaN/Inf is an error naming the file and the count, never a metric
    const bad = new Float32Array(2 * 37).map((_, i) => Math.sin(i));
    bad[5] = NaN;
    bad[40] = Infinity;
    bad[41] = -Infinity;
    const badNpy = join(DIR, 'nan-samples.npy');
    writeFileSync(badNpy, encodeNpy(bad, [37, 2]));
    const e = cli(['eval', '--run', run, '--samples', badNpy, '--n', '16']);
    expectOneLine(e, new RegExp(`^scoregpu eval: ${badNpy.replace(/[/.]/g, '\\$&')}: 3 of 74 values are not finite`));
    expect(e.out).toBe('');
    const wide = join(DIR, 'wide-samples.npy');
    writeFileSync(wide, encodeNpy(new Float32Array(3 * 20).fill(0.5), [20, 3]));
    expectOneLine(cli(['eval', '--run', run, '--samples', wide, '--n', '16']), /wide-samples\.npy: shape \[20, 3\] does not hold rows of 2 values/);
    // .npy data
    const npy = join(DIR, 'garbage.npy');
    writeFileSync(npy, Buffer.from("\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape': (3,\n \x00\x01 garbage", 'latin1'));
    const r = cli(['train', '--data', npy, '--steps', '1', '--out', join(DIR, 'y')]);
    expectOneLine(r, /garbage\.npy: (truncated \.npy header|malformed \.npy header)/);
    // --debug adds the stack
    const dbg = cli(['train', '--data', npy, '--steps', '1', '--out', join(DIR, 'y'), '--debug']);
    expect(dbg.code).toBe(1);
    expect(dbg.err).toMatch(STACK);
    expect(cli(['train', '--data', npy, '--steps', '1', '--out', join(DIR, 'y')], { SCOREGPU_DEBUG: '1' }).err).toMatch(STACK);
  });
});

describe('error classes: expected failures vs bugs', () => {
  it('classifies and prints', () => {
    expect(isExpectedError(new FileError('a.npy', 'bad'))).toBe(true);
    expect(isExpectedError(new UsageError('x'))).toBe(true);
    expect(isExpectedError(new Error('run x: no checkpoint'))).toBe(true);
    expect(isExpectedError(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC', syscall: 'write' }))).toBe(true);
    expect(isExpectedError(new TypeError("Cannot read properties of undefined (reading 'join')"))).toBe(false);
    expect(isExpectedError(new RangeError('Invalid typed array length'))).toBe(false);
    expect(isExpectedError('a string')).toBe(false);
    const lines: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      expect(reportError('sample', new FileError('m.safetensors', 'truncated\nsecond line'), false)).toBe(1);
      expect(lines).toEqual(['scoregpu sample: m.safetensors: truncated second line']);
      lines.length = 0;
      expect(reportError('sample', new TypeError('x is undefined'), false)).toBe(70);
      expect(lines[0]).toMatch(/internal error — this is a bug in scoregpu/);
      expect(lines[1]).toMatch(STACK);
    } finally {
      console.error = orig;
    }
  });
});

/** A clear error: our FileError class, one line, naming the file. */
function expectFileError(fn: () => unknown, file: string, what: RegExp) {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `no error for ${what}`).toBeInstanceOf(FileError);
  const msg = (caught as Error).message;
  expect(msg.startsWith(`${file}: `), msg).toBe(true);
  expect(msg).not.toMatch(/\n/);
  expect(msg).toMatch(what);
}

describe('bad-file classes through the decoders', () => {
  const f32 = Float32Array.from({ length: 24 }, (_, i) => i / 7);

  it('.npy', () => {
    const good = encodeNpy(f32, [4, 6]);
    const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');
    const fromText = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
    const F = 'x.npy';
    expectFileError(() => decodeNpy(new Uint8Array(0), F), F, /not a \.npy file \(empty file\)/);
    expectFileError(() => decodeNpy(good.subarray(0, 5), F), F, /truncated \(5 bytes\)/);
    expectFileError(() => decodeNpy(good.subarray(0, 40), F), F, /truncated \.npy header/);
    expectFileError(() => decodeNpy(good.subarray(0, good.length - 3), F), F, /truncated \.npy data: shape \[4, 6\] of <f4 needs 96 bytes, the file holds 93/);
    expectFileError(() => decodeNpy(fromText('PK' + text(good).slice(2)), F), F, /missing the \\x93NUMPY magic/);
    const v2 = new Uint8Array(good);
    v2[6] = 2; // v2 reads a u32 header length: the padding's spaces make it ~540 million
    expectFileError(() => decodeNpy(v2, F), F, /truncated \.npy header: it says \d+ bytes/);
    v2[6] = 9;
    expectFileError(() => decodeNpy(v2, F), F, /unsupported \.npy version 9\.0/);
    expectFileError(() => decodeNpy(fromText(text(good).replace("'<f4'", "'<c8'")), F), F, /unsupported \.npy dtype '<c8'/);
    expectFileError(() => decodeNpy(fromText(text(good).replace('(4, 6)', '(4, 7)')), F), F, /needs 112 bytes, the file holds 96/);
    expectFileError(() => decodeNpy(fromText(text(good).replace('(4, 6)', '(2, 6)')), F), F, /data longer than its shape/);
    expectFileError(() => decodeNpy(fromText(text(good).replace('(4, 6)', '(4, -6)')), F), F, /bad dimension '-6'/);
    expectFileError(() => decodeNpy(fromText(text(good).replace('(4, 6)', '(99999999999, 99999999999)')), F), F, /truncated \.npy data/);
    expectFileError(() => decodeNpy(fromText(text(good).replace("'shape'", "'shope'")), F), F, /malformed \.npy header/);
    // control characters in a header come back escaped, still one line
    expectFileError(() => decodeNpy(fromText(text(good).replace("'fortran_order': False", "'fortran_order': \n\x1b[2J")), F), F, /malformed .*\\x0a\\x1b\[2J/);
  });

  it('safetensors', () => {
    const good = encodeSafetensors({ w: { data: f32, shape: [4, 6] }, b: { data: new Float32Array(6), shape: [6] } }, { format: 'x' });
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const header = new TextDecoder().decode(good.subarray(8, 8 + n));
    const rest = good.subarray(8 + n);
    const withHeader = (h: string, data = rest) => {
      const hb = new TextEncoder().encode(h);
      const out = new Uint8Array(8 + hb.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
      out.set(hb, 8);
      out.set(data, 8 + hb.length);
      return out;
    };
    const F = 'm.safetensors';
    expectFileError(() => decodeSafetensors(new Uint8Array(0), F), F, /empty file/);
    expectFileError(() => decodeSafetensors(good.subarray(0, 5), F), F, /too short/);
    expectFileError(() => decodeSafetensors(good.subarray(0, 30), F), F, /header length \d+ runs past the end of the file \(30 bytes\)/);
    expectFileError(() => decodeSafetensors(good.subarray(0, good.length - 4), F), F, /run past the 116 data bytes/);
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    expectFileError(() => decodeSafetensors(huge, F), F, /header length 9223372036854775808 runs past/);
    expectFileError(() => decodeSafetensors(withHeader('PK' + header.slice(2)), F), F, /does not start with '\{'/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('"w":{"dtype":"F32"', '"w":{"dtype":"F17"')), F), F, /tensor 'w' has unsupported dtype 'F17'/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('"w":{"dtype":"F32"', '"w":{"dtype":"F64"')), F), F, /tensor 'w': shape \[4, 6\] of F64 needs 192 bytes/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('[4,6]', '[4,7]')), F), F, /needs 112 bytes, its data_offsets \[24, 120\] hold 96/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('[4,6]', '[-4,-6]')), F), F, /shape must be a list of at most 32 non-negative integers/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('"shape":[6]', '"shape":null')), F), F, /shape must be a list/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('{"dtype":"F32","shape":[6]', 'null,"c":{"dtype":"F32","shape":[6]')), F), F, /tensor 'b': header entry is not a JSON object/);
    expectFileError(() => decodeSafetensors(withHeader(header.slice(0, -10)), F), F, /not valid UTF-8 JSON/);
    expectFileError(() => decodeSafetensors(withHeader(header, new Uint8Array([...rest, 1, 2, 3, 4])), F), F, /hold 120 bytes, the file has 124 after the header/);
    // two tensors over the same bytes: refused before copying (a header cannot multiply memory)
    const overlap = header.replace(/"b":\{"dtype":"F32","shape":\[6\],"data_offsets":\[0,24\]\}/, '"b":{"dtype":"F32","shape":[6],"data_offsets":[24,48]}');
    expectFileError(() => decodeSafetensors(withHeader(overlap), F), F, /overlaps|belong to no tensor/);
    expectFileError(() => decodeSafetensors(withHeader(header.replace('"format":"x"', '"format":7')), F), F, /__metadata__ entry 'format' is not a string/);
  });

  it('IDX', () => {
    const good = encodeIdx(Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i), [2, 3, 4]);
    const F = 'train-images-idx3-ubyte';
    expectFileError(() => decodeIdx(new Uint8Array(0), F), F, /not an IDX file \(empty file\)/);
    expectFileError(() => decodeIdx(Uint8Array.of(0x50, 0x4b, 3, 4), F), F, /bad magic 50 4b 03 04/);
    expectFileError(() => decodeIdx(Uint8Array.of(0, 0, 0x42, 1, 0, 0, 0, 1, 7), F), F, /bad magic 00 00 42 01/);
    expectFileError(() => decodeIdx(good.subarray(0, 9), F), F, /truncated IDX header: 3 dimensions need 16 bytes/);
    expectFileError(() => decodeIdx(good.subarray(0, good.length - 1), F), F, /truncated IDX data: shape \[2, 3, 4\] of u8 needs 24 bytes, the file holds 23/);
    const big = new Uint8Array(good);
    new DataView(big.buffer).setUint32(4, 0xffffffff, false);
    expectFileError(() => decodeIdx(big, F), F, /needs 51539607540 bytes, the file holds 24/);
    const ty = new Uint8Array(good);
    ty[2] = 0x0d; // f32: 24 bytes are 6 floats, not 24
    expectFileError(() => decodeIdx(ty, F), F, /shape \[2, 3, 4\] of f32 needs 96 bytes/);
    expectFileError(() => decodeIdx(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2), F), F, /cannot decompress \(gzip: /);
  });
});

describe('run configs', () => {
  it('a run directory with a corrupt config.json still loads from its checkpoint', async () => {
    const { isImageRun } = await import('../src/train/image.js');
    const d = join(DIR, 'cfgonly');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.json'), '{"kind": "ima');
    expect(isImageRun(d)).toBe(false);
    copyFileSync(join(DIR, 'run', 'config.json'), join(d, 'config.json'));
    expect(isImageRun(d)).toBe(false);
  });
});
