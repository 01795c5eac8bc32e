// A short description of a value a caller passed, for argument errors ("got number 3", "got
// Tensor[2, 3]"). No imports of ours: tensor.ts and args.ts both use it.
import { fmtShape } from '../gpu/errors.js';

function isTensorLike(v: object): v is { shape: readonly number[]; disposed: boolean } {
  // by shape, not by class name: bundlers rename classes (esbuild's `_Tensor`)
  const t = v as { shape?: unknown; disposed?: unknown; requiresGrad?: unknown };
  return Array.isArray(t.shape) && typeof t.disposed === 'boolean' && 'requiresGrad' in t;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object' && isTensorLike(v)) return `${v.disposed ? 'a disposed ' : ''}Tensor${fmtShape(v.shape)}`;
  if (Array.isArray(v)) {
    if (v.length > 6) return `array of ${v.length}`;
    return `array [${v.map((x) => (x && typeof x === 'object' && isTensorLike(x) ? `Tensor${fmtShape(x.shape)}` : typeof x === 'string' ? `'${x}'` : Array.isArray(x) ? '[…]' : String(x))).join(', ')}]`;
  }
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length ?? v.byteLength})`;
  if (typeof v === 'string') return `string '${v.length > 30 ? v.slice(0, 30) + '…' : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}
