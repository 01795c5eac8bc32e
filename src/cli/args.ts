// A small argument parser: `--key value`, `--key=value`, `--flag`; unknown options are errors that
// list the valid ones.
export interface OptSpec {
  [name: string]: { type: 'string' | 'number' | 'boolean' | 'list'; help: string; default?: string | number | boolean };
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], spec: OptSpec, command: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(spec)) if (v.default !== undefined) out[k] = v.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`${command}: unexpected argument '${a}'`);
    let [key, val] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    // --no-X for a boolean X (as most CLIs): the same as --X=false
    if (!spec[key] && key.startsWith('no-') && spec[key.slice(3)]?.type === 'boolean' && val === undefined) {
      out[key.slice(3)] = false;
      continue;
    }
    const s = spec[key];
    if (!s) throw new UsageError(`${command}: unknown option --${key}; valid: ${Object.keys(spec).map((k) => '--' + k).join(' ')}`);
    if (s.type === 'boolean') {
      out[key] = val === undefined ? true : !/^(0|false|no)$/i.test(val);
      continue;
    }
    if (val === undefined) {
      val = argv[++i];
      if (val === undefined) throw new UsageError(`${command}: --${key} needs a value`);
    }
    if (s.type === 'number') {
      const n = Number(val);
      if (!Number.isFinite(n)) throw new UsageError(`${command}: --${key} takes a number, got '${val}'`);
      out[key] = n;
    } else if (s.type === 'list') {
      out[key] = val.split(',').map((x) => {
        const n = Number(x);
        if (!Number.isFinite(n)) throw new UsageError(`${command}: --${key} takes comma-separated numbers, got '${val}'`);
        return n;
      });
    } else out[key] = val;
  }
  return out;
}

export function usage(command: string, summary: string, spec: OptSpec): string {
  const lines = [`scoregpu ${command} — ${summary}`, ''];
  for (const [k, v] of Object.entries(spec)) {
    // a flag longer than the column still gets a space before its help
    lines.push(`  --${k}${v.type === 'boolean' ? '' : ` <${v.type}>`}`.padEnd(27) + ' ' + v.help + (v.default !== undefined ? ` (default ${v.default})` : ''));
  }
  return lines.join('\n');
}
