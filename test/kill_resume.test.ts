// Files out (issue 15, item 6): a training process killed (SIGKILL) at random moments — during
// start-up, between steps, during the checkpoint's read-back and inside its atomic write — always
// leaves a run folder with a loadable checkpoint (once one was written), a parseable config.json
// and loss.csv, and `--resume` from whatever it left ends bit for bit where an uninterrupted run
// ends (same adapter, same seeds). The child is the real `scoregpu train`, with checkpoints at every
// log (2 steps) and SCOREGPU_TEST_WRITE_DELAY_MS pausing at each stage of every atomic write, so
// about half of a child's training time is spent inside writes. A temp file left beside the
// checkpoint proves a kill landed between the temp file's creation and its rename.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rng, TEST_SEED } from '../kernels-tests/helpers.js';
import { readSafetensors } from '../src/io/fs.js';
import { toyCheckpointOf } from '../src/train/toy_run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = pathToFileURL(join(ROOT, 'dist/node/cli.js')).href;
const STEPS = 60;
const KILLS = Number(process.env.SCOREGPU_KILL_POINTS ?? 12);
const DIR = mkdtempSync(join(tmpdir(), 'scoregpu-kill-'));
const ENV = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', SCOREGPU_DEBUG: '' };

const trainArgs = (out: string) => ['train', '--data', 'moons', '--steps', String(STEPS), '--hidden', '16,16', '--batch', '64', '--seed', '11',
  '--log-every', '2', '--checkpoint-every', '2', '--resume', '--out', out];

/** The built command, run without bin/'s staleness check (a rebuild must not be killed half way). */
function start(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(CLI)}); process.exit(await main(process.argv.slice(1)));`, ...args], {
    cwd: ROOT, env: { ...ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function exited(p: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: string | null; err: string }> {
  let err = '';
  p.stderr?.on('data', (b) => (err += b));
  return new Promise((res) => p.on('exit', (code, signal) => res({ code, signal, err })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mtime = (f: string) => (existsSync(f) ? statSync(f).mtimeMs : 0);

/** The checkpoint in `dir` read as `scoregpu sample --run` would, with every tensor finite. */
function loadable(dir: string) {
  const p = join(dir, 'checkpoint.safetensors');
  const ck = toyCheckpointOf(readSafetensors(p), p);
  for (const [k, t] of Object.entries(ck.file.tensors)) {
    const a = t.data as Float32Array;
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`${k}[${i}] = ${a[i]}`);
  }
  return ck;
}

function csvRows(dir: string): number[][] {
  const f = join(dir, 'loss.csv');
  if (!existsSync(f)) return [];
  const lines = readFileSync(f, 'utf8').split('\n');
  expect(lines[0]).toBe('step,loss');
  expect(lines[lines.length - 1]).toBe(''); // ends with a newline: never a torn last line
  return lines.slice(1, -1).map((l) => l.split(',').map(Number));
}

beforeAll(() => {
  // build the bundle once (bin/ rebuilds when sources are newer)
  const b = spawnSync(process.execPath, [join(ROOT, 'bin/scoregpu.mjs'), '--help'], { cwd: ROOT, env: ENV, encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
});

describe(`a toy training run killed at ${KILLS} random moments (seed ${TEST_SEED})`, () => {
  it('always leaves a loadable checkpoint, and --resume ends bit for bit where an uninterrupted run ends', async () => {
    const ref = join(DIR, 'uninterrupted');
    const t0 = Date.now();
    const refRun = start(trainArgs(ref));
    // how long a child takes to its first checkpoint (device, pipelines, first steps) on this machine now
    let startup = 0;
    const poll = setInterval(() => (startup ||= existsSync(join(ref, 'checkpoint.safetensors')) ? Date.now() - t0 : 0), 5);
    const r = await exited(refRun);
    clearInterval(poll);
    expect(r.code, r.err).toBe(0);
    const want = loadable(ref);
    expect(want.step).toBe(STEPS);

    const run = join(DIR, 'killed');
    const R = rng(TEST_SEED);
    const stats = { kills: 0, beforeTraining: 0, midCheckpointWrite: 0, midCsvWrite: 0, noCheckpointYet: 0, steps: [] as number[] };
    let lastStep = -1;
    for (let k = 0; k < KILLS; k++) {
      const t0 = Date.now();
      const ck0 = mtime(join(run, 'checkpoint.safetensors'));
      const child = start(trainArgs(run), { SCOREGPU_TEST_WRITE_DELAY_MS: '10' });
      const done = exited(child);
      let finished = false;
      void done.then(() => (finished = true));
      // a quarter of the kills land in start-up (device, pipelines, reading the checkpoint); the
      // rest once this child has written a checkpoint, within the next 400 ms (writes take most of it)
      if (R.next() < 0.25) await sleep(R.next() * startup);
      else {
        while (!finished && mtime(join(run, 'checkpoint.safetensors')) === ck0 && Date.now() - t0 < 120_000) await sleep(3);
        await sleep(R.next() * 400);
      }
      if (finished) break; // ran to the end before the kill: the run is complete
      child.kill('SIGKILL');
      const e = await done;
      expect(e.signal, e.err).toBe('SIGKILL');
      stats.kills++;
      if (mtime(join(run, 'checkpoint.safetensors')) === ck0) stats.beforeTraining++;
      const names = existsSync(run) ? readdirSync(run) : []; // a kill early in start-up can precede the run folder
      if (names.some((n) => /^\.checkpoint\.safetensors\.tmp-/.test(n))) stats.midCheckpointWrite++;
      if (names.some((n) => /^\.loss\.csv\.tmp-/.test(n))) stats.midCsvWrite++;
      // config.json and loss.csv are whole; the checkpoint, once written, is always there and loads
      if (existsSync(join(run, 'config.json'))) expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).steps).toBe(STEPS);
      const rows = csvRows(run);
      expect(rows.every((row) => row.length === 2 && Number.isInteger(row[0]) && Number.isFinite(row[1]))).toBe(true);
      if (!existsSync(join(run, 'checkpoint.safetensors'))) {
        expect(lastStep, 'the checkpoint disappeared').toBe(-1);
        stats.noCheckpointYet++;
        continue;
      }
      const ck = loadable(run);
      expect(Object.keys(ck.file.tensors).sort()).toEqual(Object.keys(want.file.tensors).sort());
      expect(ck.step, 'a resumed run never goes back').toBeGreaterThanOrEqual(lastStep);
      lastStep = ck.step;
      stats.steps.push(ck.step);
    }
    // the last child runs to the end; it removes the temp files killed writers left
    const fin = await exited(start(trainArgs(run)));
    expect(fin.code, fin.err).toBe(0);
    expect(readdirSync(run).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const got = loadable(run);
    expect(got.step).toBe(STEPS);
    for (const [name, t] of Object.entries(want.file.tensors)) {
      const a = Buffer.from((t.data as Float32Array).buffer), b = Buffer.from((got.file.tensors[name].data as Float32Array).buffer);
      expect(b.equals(a), `${name} differs after ${stats.kills} kills`).toBe(true);
    }
    // the loss log too: every logged step once, with the uninterrupted run's values
    expect(csvRows(run).map((r) => r[0])).toEqual(Array.from({ length: STEPS / 2 }, (_, i) => 2 * (i + 1)));
    expect(readFileSync(join(run, 'loss.csv'), 'utf8')).toBe(readFileSync(join(ref, 'loss.csv'), 'utf8'));
    console.log(`kill test: ${JSON.stringify(stats)}, start-up ${startup} ms`);
    expect(stats.kills).toBeGreaterThanOrEqual(Math.min(KILLS, 5));
  });
});
