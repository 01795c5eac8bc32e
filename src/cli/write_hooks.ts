// Hooks the tests reach through the environment of a `scoregpu` process they start.
import type { AtomicWriteOptions } from '../io/fs.js';

/**
 * Tests only (undocumented): SCOREGPU_TEST_WRITE_DELAY_MS=N pauses N ms at each stage of every
 * atomic file write of a training run, so a test that kills the process often lands inside a
 * checkpoint write (test/kill_resume.test.ts). A per-run option object, not a switch in the library.
 */
export function testWriteOptions(): AtomicWriteOptions | undefined {
  const ms = Number(process.env.SCOREGPU_TEST_WRITE_DELAY_MS ?? 0);
  if (!(ms > 0)) return undefined;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  return { onStage: () => void Atomics.wait(cell, 0, 0, ms) };
}
