// A run directory, as toy and image runs lay it out: config.json (the run's config),
// checkpoint.safetensors (checkpoint.ts: weights, EMA, Adam's moments, step, RNG position) and
// loss.csv (step,loss at every log). Written atomically, so a kill leaves the previous file.
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic, type AtomicWriteOptions } from '../io/fs.js';
import { DeviceLostError } from '../gpu/errors.js';

export const RUN_FILES = { checkpoint: 'checkpoint.safetensors', config: 'config.json', lossCsv: 'loss.csv' } as const;

/** A device lost mid-run, said with what the run folder still holds. */
export function lostDuringTraining(e: DeviceLostError, step: number, checkpointStep: number | null, dir: string): DeviceLostError {
  const kept = checkpointStep === null ? `no checkpoint had been written to ${dir}` : `the checkpoint of step ${checkpointStep} in ${dir} is intact (--resume continues from it)`;
  return new DeviceLostError(`${e.message} during training, after step ${step}; ${kept}`);
}

export function writeRunConfig(dir: string, cfg: unknown, write?: AtomicWriteOptions): void {
  writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(cfg, null, 2) + '\n', write);
}

export function writeLossCsv(dir: string, history: readonly [number, number][], write?: AtomicWriteOptions): void {
  writeFileAtomic(join(dir, RUN_FILES.lossCsv), 'step,loss\n' + history.map(([s, l]) => `${s},${l}`).join('\n') + '\n', write);
}

/** The loss history up to `upTo` (the checkpoint's step: a later log was never checkpointed); [] if none. */
export function readLossCsv(dir: string, upTo = Infinity): [number, number][] {
  const csv = join(dir, RUN_FILES.lossCsv);
  if (!existsSync(csv)) return [];
  return readFileSync(csv, 'utf8').trim().split('\n').slice(1).filter((l) => l).map((l) => l.split(',').map(Number) as [number, number]).filter(([s]) => s <= upTo);
}
