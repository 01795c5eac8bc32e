// `scoregpu bench`: kernel timings on this adapter (table on stderr, JSON on stdout with --json).
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { runBench } from '../bench/suite.js';

export const BENCH_OPTS: OptSpec = {
  json: { type: 'boolean', help: 'print JSON on stdout' },
  quick: { type: 'boolean', help: 'fewer sizes and repetitions' },
  only: { type: 'string', help: 'comma-separated groups to run (e.g. matmul,conv)' },
  peers: { type: 'boolean', help: 'also time TensorFlow.js (WebGPU and WASM) on the same shapes', default: true },
};

export async function benchCommand(device: Device, a: Record<string, any>): Promise<number> {
  const res = await runBench(device, { quick: !!a.quick, only: a.only?.split(','), peers: !!a.peers, log: (s) => console.error(s) });
  if (a.json) console.log(JSON.stringify(res, null, 2));
  return 0;
}
