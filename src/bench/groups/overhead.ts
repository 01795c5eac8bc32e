// Fixed costs of the runtime: a dispatch replayed and issued eagerly, a submit, a submit-and-wait
// round trip (../ceilings.ts measureOverheads). The mlp group subtracts the round trip.
import type { BenchGroup } from '../group.js';
import { measureOverheads } from '../ceilings.js';

export const overheadGroup: BenchGroup = {
  name: 'overhead',
  async run({ device, quick, add, info }) {
    const overheads = await measureOverheads(device, quick);
    info.overheads = overheads;
    add({ group: 'overhead', name: 'empty dispatch, replayed', shape: 'one pass', ms: overheads.dispatchReplayUs / 1e3, dispatchesPerSecond: overheads.dispatchesPerSecond });
    add({ group: 'overhead', name: 'empty dispatch, device.run', shape: 'one pass (+bind group)', ms: overheads.dispatchEagerUs / 1e3 });
    add({ group: 'overhead', name: 'empty submit (no wait)', shape: 'burst', ms: overheads.submitUs / 1e3 });
    add({ group: 'overhead', name: 'submit + wait round trip', shape: 'median', ms: overheads.roundTripUs / 1e3 });
  },
};
