// What the adapter is, as far as kernel choices depend on it: a CPU adapter (lavapipe/llvmpipe,
// SwiftShader: workgroups run as 8-wide SIMD lanes) or a GPU, whether subgroups of at least 8 lanes
// are usable, and the limits the device was created with. Computed once per device (Device.caps);
// the ops' plan functions read it, never the adapter's strings.

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  isFallback: boolean;
}

export interface Caps {
  info: AdapterDescription;
  /** A CPU adapter (lavapipe / llvmpipe / SwiftShader or a fallback adapter): 8 invocations a workgroup were best there. */
  cpu: boolean;
  /**
   * How row kernels (reductions, norms) spread over the adapter: 'cpu' on software rasterisers,
   * where every workgroup barrier is a pass over the workgroup (reduce.ts kernelStyle).
   */
  rowStyle: 'gpu' | 'cpu';
  /** The `subgroups` feature with subgroups of at least 8 lanes (lavapipe: exactly 8): the texture GEMMs and subgroup matmul need it. */
  subgroups: boolean;
  features: ReadonlySet<string>;
  limits: GPUSupportedLimits;
  /** The adapter's identity, for caches of measured choices (autotuners). */
  key: string;
}

/**
 * The capabilities of a device made from an adapter described by `info`, with `features` and
 * `limits`; `subgroupMinSize`: the adapter's, where it reports one.
 */
export function adapterCaps(info: AdapterDescription, features: ReadonlySet<string>, limits: GPUSupportedLimits, subgroupMinSize?: number): Caps {
  const s = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const cpu = info.isFallback || /llvmpipe|lavapipe|swiftshader|cpu/.test(s);
  const software = info.isFallback || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`);
  const subgroups = features.has('subgroups') && (typeof subgroupMinSize === 'number' ? subgroupMinSize >= 8 : cpu);
  const key = [info.vendor, info.architecture, info.device, info.description, info.backend].join('/');
  return { info, cpu, rowStyle: software ? 'cpu' : 'gpu', subgroups, features, limits, key };
}

const LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage', 'maxUniformBufferBindingSize', 'minStorageBufferOffsetAlignment',
] as const;

/** The adapter, its features and the limits that matter here, as plain data (`scoregpu info`, bench reports). */
export function describeCaps(c: Caps): { adapter: AdapterDescription; features: string[]; limits: Record<string, number> } {
  const limits: Record<string, number> = {};
  for (const k of LIMITS) limits[k] = (c.limits as unknown as Record<string, number>)[k];
  return { adapter: c.info, features: [...c.features].sort(), limits };
}
