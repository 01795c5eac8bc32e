// Seeded initialisers (PyTorch's defaults: Kaiming-uniform-like bounds of 1/√fan_in).
export function seeded(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform(n: number, bound: number): Float32Array {
      return Float32Array.from({ length: n }, () => (2 * next() - 1) * bound);
    },
    normal(n: number, std: number): Float32Array {
      return Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
    },
  };
}
export type Rng = ReturnType<typeof seeded>;
export const zeros = (n: number) => new Float32Array(n);
export const ones = (n: number) => new Float32Array(n).fill(1);
