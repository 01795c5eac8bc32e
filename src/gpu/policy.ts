// The kernel policy of a device: what the ops' plan functions may or must choose, beyond what the
// adapter's capabilities decide. Each device holds one (Device.policy); tests, A/B tools and the
// autotuner change it for a scope only (Device.withPolicy, as tinygrad's Context scopes its flags),
// so no choice is process-wide state.

/** 'auto': the measured rule decides; 'always' / 'never' force a path where it can run at all. */
export type PathMode = 'auto' | 'always' | 'never';

/**
 * Choosers that replace an op's default rule (an autotuner's cache, an A/B tool's rule); undefined
 * from one means "the default". Each op's plan module adds its entry to this interface (TypeScript
 * declaration merging), so this layer names no op.
 */
export interface KernelChoosers {}

/** What a plan function decided for one call: `op` names the op; the rest is the op's plan (data). */
export interface KernelPlan {
  op: string;
}

export interface KernelPolicy {
  /** Convolutions as im2col + the texture GEMM (CPU adapters, where worthwhile). */
  convTex: PathMode;
  /** Convolutions as implicit GEMMs over padded NHWC4 textures (CPU adapters, where worthwhile). */
  convImplicit: PathMode;
  /** Packing pass of the implicit GEMM's padded input: one invocation a pixel or one a texel. */
  implicitPack: 'nhwc4_px' | 'nhwc4';
  /** Packing passes stage their texels in a buffer ('auto': on CPU adapters) or store to the texture. */
  texStaging: PathMode;
  /** Row kernels' style ('auto': the adapter's, Caps.rowStyle); tests force each on every adapter. */
  rowStyle: 'auto' | 'gpu' | 'cpu';
  choosers: KernelChoosers;
  /** Told every plan the ops make (printing the plans of a step; tests asserting them). */
  observe: ((plan: KernelPlan) => void) | null;
  /** Told every dispatch issued or recorded: the kernel's name (with its constants) and the grid (profilers label them). */
  observeDispatch: ((kernel: string, workgroups: [number, number, number], bindings: Readonly<Record<string, unknown>>) => void) | null;
}

export function defaultPolicy(): KernelPolicy {
  return { convTex: 'auto', convImplicit: 'auto', implicitPack: 'nhwc4_px', texStaging: 'auto', rowStyle: 'auto', choosers: {}, observe: null, observeDispatch: null };
}

/** `base` with `change` applied; choosers merge one by one. */
export function mergePolicy(base: KernelPolicy, change: Partial<KernelPolicy>): KernelPolicy {
  return { ...base, ...change, choosers: { ...base.choosers, ...change.choosers } };
}
