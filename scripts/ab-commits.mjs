#!/usr/bin/env node
// Interleaved A/B of the whole U-Net step between two versions of the code (a refactor's "speed
// holds" check): each side is built from its own sources — a commit exported with `git archive`
// into a temporary folder, or this working tree — and runs in a process of its own with its own
// device (two devices in one process time unequally on lavapipe: the same code measured ×1.4 apart).
// Each side records its forward (no-grad) or training step (the trainer's own) once; then the
// sides replay one step at a time, taking turns (the order alternating by round), so that load on
// the machine falls on both alike. Prints each side's median and the median over rounds of
// head ÷ base (< 1: head is faster).
//   node scripts/ab-commits.mjs --base REV [--head REV] [--preset reference] [--batch 64] [--rounds 7] [--train] [--json]
// Without --head the working tree is the head. Check the bias first with --base HEAD --head HEAD,
// and use an idle machine.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { root, cliArgs } from './run-bundled.mjs';

const { opt, flag } = cliArgs();
const preset = opt('preset', 'reference'), batch = Number(opt('batch', 64)), rounds = Number(opt('rounds', 7)), train = flag('train');

if (flag('child')) {
  // one side: its own bundle of src/bench/profile.ts, its own device, its step recorded; then one
  // replay per 'run' message, answered with the synchronised time
  const dir = opt('tree');
  const { importBundled } = await import(pathToFileURL(join(dir, 'scripts/run-bundled.mjs')).href);
  const m = await importBundled(`ab-${opt('label')}`, ['src/bench/profile.ts']);
  const device = await m.createDevice();
  const work = m.unetWorkload(device, { batch, train, preset });
  const rec = await work.prepare();
  work.replay();
  await device.sync();
  process.on('message', async (msg) => {
    if (msg === 'run') {
      const t0 = performance.now();
      work.replay();
      await device.sync();
      process.send({ ms: performance.now() - t0 });
    } else {
      work.dispose();
      device.destroy();
      process.exit(0);
    }
  });
  process.send({ ready: true, dispatches: rec.dispatches.length });
} else {
  const base = opt('base', undefined);
  if (!base) {
    console.error('ab-commits: --base REV is required (e.g. --base HEAD~3)');
    process.exit(2);
  }
  const head = opt('head', undefined);
  const median = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const temps = [];
  /** The folder holding a side's sources: REV exported beside a link to this checkout's node_modules, or the working tree. */
  const tree = (rev) => {
    if (!rev) return root;
    const sha = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
    const dir = mkdtempSync(join(tmpdir(), `ab-${sha.slice(0, 8)}-`));
    temps.push(dir);
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`], { cwd: root });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    return dir;
  };
  const children = [];
  try {
    const sides = [];
    for (const [label, rev] of [['base', base], ['head', head]]) {
      const args = ['--child', '--tree', tree(rev), '--label', label, '--preset', preset, '--batch', String(batch), ...(train ? ['--train'] : [])];
      const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      // one answer at a time: `pending` is the call waiting for the child's next message
      let pending = null;
      child.on('message', (msg) => pending?.resolve(msg));
      child.on('exit', (code) => pending?.reject(new Error(`ab-commits: the ${label} side exited (code ${code})`)));
      const next = () => new Promise((resolve, reject) => (pending = { resolve, reject }));
      const ready = await next(); // prepared one side at a time: compiles do not overlap
      sides.push({ label, rev: rev ?? 'working tree', dispatches: ready.dispatches, run: async () => { child.send('run'); return (await next()).ms; } });
    }
    const ms = [[], []];
    for (let r = 0; r < rounds; r++) for (const i of r % 2 ? [1, 0] : [0, 1]) ms[i].push(await sides[i].run());
    const ratio = median(ms[1].map((t, r) => t / ms[0][r]));
    const res = {
      what: `${preset} U-Net ${train ? 'training step' : 'forward'} at batch ${batch}`, rounds, loadAverage: loadavg(),
      sides: sides.map((s, i) => ({ side: s.label, rev: s.rev, dispatches: s.dispatches, medianMs: median(ms[i]), ms: ms[i].map(Math.round) })),
      headOverBase: ratio,
    };
    if (flag('json')) console.log(JSON.stringify(res, null, 1));
    else {
      console.log(`${res.what}, ${rounds} interleaved rounds, load average ${res.loadAverage.map((x) => x.toFixed(2)).join(' ')}`);
      for (const s of res.sides) console.log(`${s.side.padEnd(5)} ${s.rev.padEnd(14)} ${String(s.dispatches).padStart(5)} dispatches ${s.medianMs.toFixed(1).padStart(9)} ms   rounds: ${s.ms.join(' ')}`);
      console.log(`head ÷ base (per-round median): ×${ratio.toFixed(3)} (${ratio <= 1 ? 'head faster or equal' : 'head slower'})`);
    }
  } finally {
    for (const c of children) if (c.connected) c.send('exit');
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  }
}
