// The benchmark groups, in the order a run measures them (`scoregpu bench --only a,b` picks some).
// A new group is a file here exporting a BenchGroup (../group.ts) and a line in this list.
import type { BenchGroup } from '../group.js';
import { ceilingsGroup } from './ceilings.js';
import { overheadGroup } from './overhead.js';
import { matmulGroup } from './matmul.js';
import { convGroup } from './conv.js';
import { memoryGroup } from './memory.js';
import { mlpGroup } from './mlp.js';
import { unetGroup } from './unet.js';
import { imageGroup } from './image.js';
import { samplingGroup } from './sampling.js';
import { autotuneGroup } from './autotune.js';

export const BENCH_GROUPS: readonly BenchGroup[] = [
  ceilingsGroup, overheadGroup, matmulGroup, convGroup, memoryGroup, mlpGroup, unetGroup, imageGroup, samplingGroup, autotuneGroup,
];
