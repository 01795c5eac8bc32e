// Lines the train commands print about how a run ended.

/** What a stopped run left: the last good checkpoint, or none. */
export function keptCheckpoint(step: number | null, out: string): string {
  return step === null ? `no checkpoint had been written yet (--checkpoint-every sets how often)` : `the last good checkpoint (step ${step}) is kept in ${out}`;
}

export function skippedNote(n: number): string {
  return n ? `, ${n} non-finite step${n === 1 ? '' : 's'} skipped` : '';
}
