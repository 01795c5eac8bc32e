// Checking a named choice (a loss, a sampler, a process, a preset) against the valid ones.

export function checkChoice<T extends string>(what: string, value: string, valid: readonly T[]): T {
  if (!valid.includes(value as T)) throw new Error(`unknown ${what} '${value}'; valid: ${valid.join(', ')}`);
  return value as T;
}
