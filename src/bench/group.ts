// What a benchmark group is (src/bench/groups/, one file each, listed in groups/index.ts) and what
// the suite (./suite.ts) hands it: the device, the options, a way to add rows (rates as fractions
// of the adapter's ceilings filled in), the two-pass rule for target rows, the peers, and a place
// for the figures a group reports beside its rows.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import type { Ceilings, Overheads } from './ceilings.js';
import type { Peers, PeerName } from './peers.js';

export interface PeerFigure {
  ms?: number;
  gflops?: number;
  gbps?: number;
  /** ours/peer in rate: > 1 means ours is faster. */
  ratio?: number;
  error?: string;
  /** Per-row extras (img/s, batch-64 extrapolations). */
  [k: string]: unknown;
}

export interface BenchEntry {
  group: string;
  name: string;
  shape: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  /** Fraction of the FMA-only ceiling (GFLOP/s) or of the copy bandwidth (GB/s). */
  ofFma?: number;
  ofCopy?: number;
  peers?: Partial<Record<PeerName, PeerFigure>>;
  [k: string]: unknown;
}

export interface BenchOptions {
  quick?: boolean;
  /**
   * U-Net forward and training step at batch 64 for real (slow on CPU adapters); the image group
   * adds the reference preset's training and sampling rows.
   */
  full?: boolean;
  only?: string[];
  peers?: boolean;
  /** Override the U-Net batch that is measured. */
  unetBatch?: number;
  /** The image group's batch (default 64; smaller for smoke runs). */
  imageBatch?: number;
  log?: (line: string) => void;
}

/** Figures groups report beside their rows (the result's top-level fields of the same names). */
export interface BenchInfo {
  overheads?: Overheads | null;
  encode?: Record<string, unknown> | null;
  unet?: Record<string, unknown> | null;
  image?: Record<string, unknown> | null;
}

export interface BenchContext {
  device: Device;
  o: BenchOptions;
  quick: boolean;
  /** Passes over the target rows (2 in full mode: each row keeps its faster pass). */
  passes: number;
  log(line: string): void;
  /** Add a row: peers' ratios and fractions of the ceilings are filled in, the row is logged. */
  add(e: BenchEntry): void;
  /** A row measured again in a later pass: the faster of the two, both kept in passMs. */
  bestOf(e: BenchEntry | undefined, fresh: BenchEntry, flops: number): BenchEntry;
  /** Time a peer figure on each available backend into e.peers (errors recorded, not thrown). */
  onPeers(
    e: BenchEntry,
    fn: (tf: any) => { run: () => any; dispose: () => void },
    opts?: { flops?: number; reps?: number; targetMs?: number; backends?: PeerName[] },
  ): Promise<void>;
  /** The loaded peers, when asked for and available. */
  peers: Peers | null;
  ceilings: Ceilings | null;
  info: BenchInfo;
}

export interface BenchGroup {
  name: string;
  /** Its rows are fractions of the ceilings (or the ceilings themselves): they are measured first. */
  ceilings?: boolean;
  /** It times peers on the same shapes (with --peers). */
  peers?: boolean;
  run(ctx: BenchContext): Promise<void>;
}

/** A kept tensor of deterministic values in [−scale, scale] (no RNG kernel in the timed rows). */
export function rnd(device: Device, shape: number[], scale = 0.5, seed = 0): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin((i + seed * 7919) * 12.9898) * scale;
  return Tensor.fromArray(device, d, shape).keep();
}
