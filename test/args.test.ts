// The --help table: every flag is followed by at least one space before its help, however long the
// flag's name (a 26-character flag used to run into its text: "--corrector-steps <number>pc: …").
import { describe, it, expect } from 'vitest';
import { parseArgs, usage, type OptSpec } from '../src/cli/args.js';

describe('usage', () => {
  it('separates every flag from its help, short and long names alike', () => {
    const names = ['n', 'steps', 'corrector-steps', 'a-flag-with-a-very-long-name-indeed'];
    const spec: OptSpec = {};
    for (const k of names) spec[k] = { type: 'number', help: `help of ${k}` };
    spec['quiet'] = { type: 'boolean', help: 'help of quiet' };
    const text = usage('demo', 'a summary', spec);
    for (const k of [...names, 'quiet']) {
      const line = text.split('\n').find((l) => l.includes(`--${k}`))!;
      expect(line, k).toMatch(new RegExp(`--${k}( <number>)? +help of ${k}$`));
    }
    // short flags still line their help up in one column
    const col = (k: string) => text.split('\n').find((l) => l.includes(`--${k} `))!.indexOf('help of');
    expect(col('n')).toBe(col('steps'));
  });
});

describe('parseArgs', () => {
  const spec: OptSpec = { clip: { type: 'boolean', help: 'h', default: true }, steps: { type: 'number', help: 'h' } };
  it('takes --X, --X=false and --no-X for a boolean; --no-X of a non-boolean is an unknown option', () => {
    expect(parseArgs([], spec, 'c').clip).toBe(true);
    expect(parseArgs(['--clip=false'], spec, 'c').clip).toBe(false);
    expect(parseArgs(['--no-clip'], spec, 'c').clip).toBe(false);
    expect(parseArgs(['--no-clip', '--clip'], spec, 'c').clip).toBe(true);
    expect(parseArgs(['--steps', '7'], spec, 'c').steps).toBe(7);
    expect(() => parseArgs(['--no-steps'], spec, 'c')).toThrow(/unknown option --no-steps/);
    expect(() => parseArgs(['--no-clip=1'], spec, 'c')).toThrow(/unknown option --no-clip/);
  });
});
