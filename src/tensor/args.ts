// Argument checks at the public boundary. The package root's functions (the `ops` table, Tensor's
// constructors, grad/backward, the metrics) are the kernels' functions wrapped once by `checked`,
// with a list saying what each parameter must be: a wrong kind is a TypeError naming the function
// and the parameter, a shape outside what the parameter takes a ShapeError. The kernels' own
// shape checks (two shapes that do not broadcast, inner dimensions that differ) stay where they
// are; internal callers, which pass what they built themselves, call the kernels unchecked.
import { Tensor } from './tensor.js';
import { ShapeError, fmtShape } from '../gpu/errors.js';
import { describe } from './describe.js';

/**
 * What is wrong with a value: a wrong kind ("must be a Tensor, got number 3", a TypeError), or a
 * right kind of the wrong shape ({ shape: "must be a 4-D Tensor, got shape [2, 3]" }, a ShapeError).
 */
export type Problem = string | { shape: string };
/** Says what is wrong with a value, or null when it is fine. */
export type Check = ((v: unknown) => Problem | null) & { optional?: boolean; what?: string };

const prefixed = (pre: string, p: Problem): Problem => (typeof p === 'string' ? `${pre}${p}` : { shape: `${pre}${p.shape}` });


function make(what: string, test: (v: unknown) => Problem | null | boolean): Check {
  const c = ((v: unknown) => {
    const r = test(v);
    if (r === true || r === null) return null;
    return r === false ? `must be ${what}, got ${describe(v)}` : r;
  }) as Check;
  c.what = what;
  return c;
}

/** Also accepts undefined. */
export function optional(c: Check): Check {
  const what = `${c.what} or undefined`;
  const o = ((v: unknown) => {
    if (v === undefined) return null;
    const r = c(v);
    return isGeneric(r, c) ? `must be ${what}, got ${describe(v)}` : r;
  }) as Check;
  o.optional = true;
  o.what = what;
  return o;
}

/** Whether a problem is only "wrong kind" (as opposed to a specific one about the value's insides). */
const isGeneric = (r: Problem | null, c: Check) => typeof r === 'string' && r.startsWith(`must be ${c.what}, got `);

/**
 * Either of two checks. When both fail, the one that says something specific about the value wins
 * (an options object with a wrong field names the field); otherwise both kinds are named.
 */
export function either(a: Check, b: Check): Check {
  const what = `${a.what} or ${b.what}`;
  const e = ((v: unknown) => {
    const ra = a(v);
    if (ra === null) return null;
    const rb = b(v);
    if (rb === null) return null;
    if (!isGeneric(rb, b)) return rb;
    if (!isGeneric(ra, a)) return ra;
    return `must be ${what}, got ${describe(v)}`;
  }) as Check;
  e.what = what;
  return e;
}

/** A live Tensor, optionally of a given rank (or at least a rank). */
export function tensor(o: { rank?: number; minRank?: number } = {}): Check {
  const what = o.rank !== undefined ? `a ${o.rank}-D Tensor` : o.minRank ? `a Tensor of rank ≥ ${o.minRank}` : 'a Tensor';
  return make(what, (v) => {
    if (!(v instanceof Tensor)) return false;
    if (v.disposed) return `is a disposed Tensor${fmtShape(v.shape)} (used after dispose())`;
    if (o.rank !== undefined && v.rank !== o.rank) return { shape: `must be ${what}, got shape ${fmtShape(v.shape)}` };
    if (o.minRank !== undefined && v.rank < o.minRank) return { shape: `must be ${what}, got shape ${fmtShape(v.shape)}` };
    return true;
  });
}
export const T = tensor();

export const num = make('a finite number', (v) => typeof v === 'number' && Number.isFinite(v));
export const int = make('an integer', (v) => typeof v === 'number' && Number.isSafeInteger(v));
export const posInt = make('a positive integer', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0);
export const nonNegInt = make('a non-negative integer', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
export const bool = make('a boolean', (v) => typeof v === 'boolean');
export const string = make('a string', (v) => typeof v === 'string');
export const any = make('anything', () => true);

const intList = (what: string, ok: (d: number) => boolean) =>
  make(what, (v) => Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && ok(d)));
/** A shape: non-negative integers. */
export const shape = intList('a shape (an array of non-negative integers)', (d) => d >= 0);
/** A shape where one dimension may be -1 (reshape). */
export const shapeInfer = intList('a shape (an array of non-negative integers, one of them may be -1)', (d) => d >= -1);
export const ints = intList('an array of integers', () => true);
export const axes = either(int, ints);

/** A non-empty array of live Tensors. */
export const tensors = make('a non-empty array of Tensors', (v) => {
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => t instanceof Tensor)) return false;
  const dead = (v as Tensor[]).findIndex((t) => t.disposed);
  return dead < 0 ? true : `holds a disposed Tensor at index ${dead}`;
});

/** Numbers in an array-like (a plain array or a typed array). */
export const numbers = make('an array of numbers (or a typed array)', (v) => {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return true;
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
});

/** An instance of a class, by constructor (Device, Clock, ...). */
export function instance(ctor: abstract new (...a: any[]) => unknown, what = `a ${ctor.name}`): Check {
  return make(what, (v) => v instanceof ctor);
}

/** A value from a fixed list. */
export function oneOf(values: readonly unknown[]): Check {
  return make(`one of ${values.map((x) => (typeof x === 'string' ? `'${x}'` : String(x))).join(', ')}`, (v) => values.includes(v));
}

/**
 * An options object: a plain object whose keys are the listed ones, each checked; undefined too
 * unless some fields are `required`.
 */
export function options(fields: Record<string, Check>, required: string[] = []): Check {
  const names = Object.keys(fields);
  const o = ((v: unknown) => {
    if (v === undefined) return required.length ? `must be an options object with ${required.join(', ')}, got undefined` : null;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor || ArrayBuffer.isView(v)) {
      return `must be an options object {${names.join(', ')}}, got ${describe(v)}`;
    }
    for (const [k, x] of Object.entries(v)) {
      const c = fields[k];
      if (!c) return `has no option '${k}' (valid: ${names.join(', ')})`;
      if (x === undefined) continue;
      const bad = c(x);
      if (bad) return prefixed(`.${k} `, bad);
    }
    const missing = required.filter((k) => (v as Record<string, unknown>)[k] === undefined);
    if (missing.length) return `needs ${missing.map((k) => `.${k}`).join(' and ')} (${missing.map((k) => fields[k].what).join('; ')})`;
    return null;
  }) as Check;
  o.optional = required.length === 0;
  o.what = `an options object {${names.join(', ')}}`;
  return o;
}

/** Every Tensor reachable in the arguments (one level into arrays and option objects). */
function tensorsIn(args: unknown[]): Tensor[] {
  const out: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) out.push(a);
    else if (Array.isArray(a)) for (const x of a) if (x instanceof Tensor) out.push(x);
    else if (a && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) for (const x of Object.values(a)) if (x instanceof Tensor) out.push(x);
  }
  return out;
}

/**
 * `fn` with its arguments checked against `params` ([name, check] in order) before it runs: a
 * TypeError naming `name` (e.g. 'ops.add') and the parameter for a wrong kind, or for more
 * arguments than it takes; all tensors given must live on one device.
 */
export function checked<F extends (...args: any[]) => any>(name: string, fn: F, params: [string, Check][]): F {
  const min = params.reduce((n, [, c], i) => (c.optional ? n : i + 1), 0);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    if (args.length > params.length) {
      throw new TypeError(`${name}: takes at most ${params.length} argument${params.length === 1 ? '' : 's'} (${params.map(([p]) => p).join(', ')}), got ${args.length}`);
    }
    for (let i = 0; i < params.length; i++) {
      const [p, c] = params[i];
      if (i >= args.length && i >= min) break;
      const bad = c(args[i]);
      if (typeof bad === 'string') throw new TypeError(`${name}: ${p} ${bad}`);
      if (bad) throw new ShapeError(`${name}: ${p} ${bad.shape}`);
    }
    const ts = tensorsIn(args);
    for (const t of ts) {
      if (t.device !== ts[0].device) throw new TypeError(`${name}: its tensors live on different devices (${ts[0]} and ${t})`);
    }
    return fn.apply(this, args);
  } as unknown as F;
  Object.defineProperty(wrapped, 'name', { value: fn.name || name.split('.').pop() });
  return wrapped;
}

/** A ShapeError naming the function and parameter, for shape rules a Check cannot express alone. */
export function shapeError(name: string, what: string): ShapeError {
  return new ShapeError(`${name}: ${what}`);
}
