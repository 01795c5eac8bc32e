// The adapter's own ceilings as rows: the FMA-only kernel at each workgroup size, and the two
// copies (../ceilings.ts measures them once a run, for every group whose rows are fractions of them).
import type { BenchGroup } from '../group.js';

export const ceilingsGroup: BenchGroup = {
  name: 'ceilings',
  ceilings: true,
  async run({ ceilings: c, add }) {
    if (!c) return;
    for (const w of c.fmaPerWorkgroupSize) add({ group: 'ceilings', name: `fma-only kernel wg${w.wg}`, shape: '8192 inv × 16 vec4 fma', ms: w.ms, gflops: w.gflops });
    const mb = `${c.copyBytes / 2 ** 20} MB`;
    add({ group: 'ceilings', name: 'copyBufferToBuffer', shape: mb, ms: (2 * c.copyBytes) / c.copyBufferToBufferGBps / 1e6, gbps: c.copyBufferToBufferGBps });
    add({ group: 'ceilings', name: 'copy kernel (vec4 storage)', shape: mb, ms: (2 * c.copyBytes) / c.copyKernelGBps / 1e6, gbps: c.copyKernelGBps });
  },
};
