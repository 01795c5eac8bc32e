// Where `scoregpu eval` and `scoregpu sample` write for an image run when no --out is given. A
// training run keeps its outputs; a model folder (models/NAME: weights and config without a
// checkpoint) is shipped in the repository and is not written into, so its outputs go to runs/eval/NAME.
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdirp } from '../io/fs.js';
import { RUN_FILES } from '../train/run_dir.js';

/** --out, else a training run's own directory, else (a model folder) runs/eval/NAME. */
export function runOutputDir(a: { run: string; out?: string }): string {
  return a.out ?? (existsSync(join(a.run, RUN_FILES.checkpoint)) ? a.run : join('runs', 'eval', basename(a.run.replace(/[\\/]+$/, ''))));
}

/** runOutputDir, created if missing. */
export function makeRunOutputDir(a: { run: string; out?: string }): string {
  const dir = runOutputDir(a);
  mkdirp(dir);
  return dir;
}
