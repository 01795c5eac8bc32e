// The `ops` namespace: differentiable ops (autograd records them when inputs require grad), plus
// the random and sampler kernels that have no gradient.
export * from './autograd/ops.js';
export { randn, rand, rademacher, randint, createClock, setClock, setSeed } from './tensor/ops/random.js';
export { langevinUpdate, langevinStep } from './tensor/ops/langevin.js';
export { fill, accumulate } from './tensor/ops/elementwise.js';
