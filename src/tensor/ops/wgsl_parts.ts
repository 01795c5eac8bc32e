// WGSL has no includes: a kernel names a part it shares with others at a `//! splice NAME.wgsl: what
// it brings` line, and the op that loads it puts the part there, inline, its leading comment lines
// dropped (the kernel's own comment line says what comes in). Parts: the matmul kernels' bindings,
// head and steps (matmul.ts), the Philox key and block start of the kernels that draw noise (random.ts).

/** `source` with every `//! splice NAME.wgsl` line replaced by parts[NAME]; `who` names the caller in the error. */
export function spliceParts(who: string, source: string, parts: Readonly<Record<string, string>>): string {
  return source.replace(/^ *\/\/! splice (\S+\.wgsl).*\n/gm, (_, name: string) => {
    if (!(name in parts)) throw new Error(`${who}: no WGSL part ${name} to splice`);
    return parts[name].replace(/^(\/\/.*\n)+/, '');
  });
}
