// Kernels as data: a WGSL source declares its bindings and its `params` uniform struct; reflection
// (wgsl_reflect) turns that into the bind-group layout and a packer for the uniform, so TypeScript
// states only shapes, values and the dispatch size. Pipelines are cached per (file, entry, constants).
import { WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KernelCompileError } from './errors.js';

export type BindingKind = 'uniform' | 'storage' | 'read-only-storage' | 'texture' | 'storage-texture' | 'sampler';

export interface BindingInfo {
  name: string;
  binding: number;
  kind: BindingKind;
  /** For uniforms: byte size and member layout used to pack a params object. */
  size: number;
  members?: MemberInfo[];
}

export interface MemberInfo {
  name: string;
  offset: number;
  size: number;
  /** 'u32' | 'i32' | 'f32' scalar type of each element */
  scalar: 'u32' | 'i32' | 'f32';
  /** number of scalars the member holds (1 for a scalar, 4 for vec4, 4·n for array<vec4, n>) */
  count: number;
  /** stride in bytes between array elements' starts (16 for array<vec4>), 0 if not an array */
  stride: number;
  /** scalars per array element (vecN's N) */
  lanes: number;
}

export interface KernelSpec {
  /** File name for messages and the cache key, e.g. 'matmul.wgsl'. */
  file: string;
  source: string;
  entry?: string;
  /** `override` constants: tile and workgroup sizes, op codes. */
  constants?: Record<string, number>;
}

export interface Kernel {
  key: string;
  name: string; // file:entry{constants}
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: Map<string, BindingInfo>;
  workgroupSize: [number, number, number];
}

interface Reflected {
  bindings: Map<string, BindingInfo>;
  entries: string[];
  overrides: string[];
  workgroupSize: Map<string, (string | number)[]>;
}

const reflectCache = new Map<string, Reflected>();

function scalarOf(t: any): 'u32' | 'i32' | 'f32' {
  const n = t?.name;
  if (n === 'u32' || n === 'i32' || n === 'f32') return n;
  if (t?.format) return scalarOf(t.format);
  throw new Error(`unsupported uniform member type ${n}`);
}

function memberInfo(m: any): MemberInfo {
  const t = m.type;
  const name = t.name as string;
  if (name === 'u32' || name === 'i32' || name === 'f32') {
    return { name: m.name, offset: m.offset, size: m.size, scalar: name, count: 1, stride: 0, lanes: 1 };
  }
  const vec = /^vec([234])/.exec(name);
  if (vec) {
    const lanes = Number(vec[1]);
    return { name: m.name, offset: m.offset, size: m.size, scalar: scalarOf(t.format), count: lanes, stride: 0, lanes };
  }
  if (name === 'array') {
    const el = t.format;
    const lanes = /^vec([234])/.test(el.name) ? Number(el.name[3]) : 1;
    const n = t.count as number;
    return { name: m.name, offset: m.offset, size: m.size, scalar: scalarOf(el), count: n * lanes, stride: m.size / n, lanes };
  }
  throw new Error(`unsupported uniform member ${m.name}: ${name}`);
}

/** Find the line of a parse error to name it. wgsl_reflect messages carry a line number when it knows one. */
function reflect(file: string, source: string): Reflected {
  let r = reflectCache.get(source);
  if (r) return r;
  let w: any;
  try {
    w = new WgslReflect(source);
  } catch (e: any) {
    const line = /line[:\s]+(\d+)/i.exec(String(e?.message ?? e))?.[1] ?? e?.token?.line ?? '?';
    throw new KernelCompileError(`${file}:${line}: WGSL parse error: ${e?.message ?? e}`);
  }
  const bindings = new Map<string, BindingInfo>();
  const groups = w.getBindGroups();
  (groups[0] ?? []).forEach((b: any) => {
    if (!b) return;
    let kind: BindingKind;
    // By the library's enum names: its numbering changed between versions (1.6 added Immediate = 2).
    switch (b.resourceType) {
      case ResourceType.Uniform: kind = 'uniform'; break;
      case ResourceType.Storage: kind = b.access === 'read' ? 'read-only-storage' : 'storage'; break;
      case ResourceType.Sampler: kind = 'sampler'; break;
      case ResourceType.Texture: kind = 'texture'; break;
      case ResourceType.StorageTexture: kind = 'storage-texture'; break;
      default: kind = 'storage';
    }
    const info: BindingInfo = { name: b.name, binding: b.binding, kind, size: b.size ?? 0 };
    if (kind === 'uniform' && b.type?.members) info.members = b.type.members.map(memberInfo);
    bindings.set(b.name, info);
  });
  if (groups.length > 1) throw new KernelCompileError(`${file}: only @group(0) is supported`);
  const workgroupSize = new Map<string, (string | number)[]>();
  for (const e of w.entry.compute) {
    const attr = (e.attributes ?? []).find((a: any) => a.name === 'workgroup_size');
    const v = attr?.value;
    const vals = (Array.isArray(v) ? v : [v]).filter((x: any) => x !== undefined).map((x: any) => {
      const s = typeof x === 'object' ? (x.value ?? x.name ?? String(x)) : x;
      return /^\d+$/.test(String(s)) ? Number(s) : String(s);
    });
    workgroupSize.set(e.name, vals);
  }
  r = { bindings, entries: w.entry.compute.map((e: any) => e.name), overrides: w.overrides.map((o: any) => o.name), workgroupSize };
  reflectCache.set(source, r);
  return r;
}

/** Resolve @workgroup_size(X, Y, Z) where entries may name override constants. */
function resolveWorkgroupSize(vals: (string | number)[], constants: Record<string, number>, defaults: Record<string, number>): [number, number, number] {
  const out: number[] = vals.map((v) => (typeof v === 'number' ? v : constants[v] ?? defaults[v] ?? NaN));
  while (out.length < 3) out.push(1);
  return out as [number, number, number];
}

function overrideDefaults(source: string): Record<string, number> {
  const d: Record<string, number> = {};
  for (const m of source.matchAll(/override\s+(\w+)\s*(?::\s*\w+)?\s*=\s*([0-9.eE+-]+)\w*\s*;/g)) d[m[1]] = Number(m[2]);
  return d;
}

export class KernelCache {
  private cache = new Map<string, Kernel>();
  /** Compile problems found asynchronously (getCompilationInfo, pipeline creation) wait here until the next sync. */
  pendingErrors: Promise<Error | null>[] = [];

  constructor(private device: GPUDevice) {}

  get size() {
    return this.cache.size;
  }

  get(spec: KernelSpec): Kernel {
    const entry = spec.entry ?? 'main';
    const constants = spec.constants ?? {};
    const ckeys = Object.keys(constants).sort();
    const key = `${spec.file}:${entry}{${ckeys.map((k) => `${k}=${constants[k]}`).join(',')}}#${spec.source.length}`;
    let k = this.cache.get(key);
    if (k) return k;
    const r = reflect(spec.file, spec.source);
    if (!r.entries.includes(entry)) {
      throw new KernelCompileError(`${spec.file}: no @compute entry point '${entry}' (has ${r.entries.join(', ')})`);
    }
    for (const c of ckeys) {
      if (!r.overrides.includes(c)) throw new KernelCompileError(`${spec.file}: no override constant '${c}' (has ${r.overrides.join(', ') || 'none'})`);
    }
    // Only the bindings the entry point uses belong in its layout; reflection over the whole module
    // lists all of them, so filter by a textual use check within the module (cheap and sufficient:
    // one entry per kernel family shares its bindings).
    const used = [...r.bindings.values()];
    const layout = this.device.createBindGroupLayout({
      label: `${spec.file}:${entry}`,
      entries: used.map((b) => ({
        binding: b.binding,
        visibility: 4 /* COMPUTE */,
        ...(b.kind === 'uniform' ? { buffer: { type: 'uniform' as const } }
          : b.kind === 'storage' ? { buffer: { type: 'storage' as const } }
          : b.kind === 'read-only-storage' ? { buffer: { type: 'read-only-storage' as const } }
          : b.kind === 'texture' ? { texture: { sampleType: 'unfilterable-float' as const } }
          : b.kind === 'sampler' ? { sampler: { type: 'non-filtering' as const } }
          : { storageTexture: { access: 'write-only' as const, format: 'rgba32float' as const } }),
      })),
    });
    const name = `${spec.file}:${entry}${ckeys.length ? `{${ckeys.map((c) => `${c}=${constants[c]}`).join(',')}}` : ''}`;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: spec.source, label: spec.file });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry, constants },
    });
    const scope = this.device.popErrorScope();
    this.pendingErrors.push(
      Promise.all([module.getCompilationInfo?.() ?? Promise.resolve({ messages: [] } as any), scope]).then(([info, err]) => {
        const errs = (info.messages as GPUCompilationMessage[]).filter((m) => m.type === 'error');
        if (errs.length) {
          return new KernelCompileError(errs.map((m) => `${spec.file}:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n'));
        }
        if (err) return new KernelCompileError(`${name}: ${err.message}`);
        return null;
      }),
    );
    const wg = resolveWorkgroupSize(r.workgroupSize.get(entry) ?? [1], constants, overrideDefaults(spec.source));
    k = { key, name, pipeline, layout, bindings: r.bindings, workgroupSize: wg };
    this.cache.set(key, k);
    return k;
  }
}

export type ParamValue = number | boolean | readonly number[] | ArrayLike<number>;

/** Pack a params object into the byte layout of a uniform struct found by reflection. */
export function packParams(kernelName: string, info: BindingInfo, values: Record<string, ParamValue>): Uint8Array {
  const bytes = new Uint8Array(Math.max(16, Math.ceil(info.size / 16) * 16));
  const dv = new DataView(bytes.buffer);
  const members = info.members ?? [];
  for (const key of Object.keys(values)) {
    if (!members.some((m) => m.name === key)) {
      throw new Error(`${kernelName}: uniform '${info.name}' has no member '${key}' (has ${members.map((m) => m.name).join(', ')})`);
    }
  }
  for (const m of members) {
    const v = values[m.name];
    if (v === undefined) {
      if (m.name.startsWith('_')) continue; // padding members
      throw new Error(`${kernelName}: missing uniform value '${m.name}'`);
    }
    const arr: ArrayLike<number> = typeof v === 'number' ? [v] : typeof v === 'boolean' ? [v ? 1 : 0] : v;
    if (arr.length > m.count) throw new Error(`${kernelName}: '${m.name}' takes ${m.count} values, got ${arr.length}`);
    for (let i = 0; i < arr.length; i++) {
      const off = m.stride ? m.offset + Math.floor(i / m.lanes) * m.stride + (i % m.lanes) * 4 : m.offset + i * 4;
      const x = arr[i];
      if (m.scalar === 'f32') dv.setFloat32(off, x, true);
      else if (m.scalar === 'i32') dv.setInt32(off, x, true);
      else {
        if (x < 0 || !Number.isInteger(x)) throw new Error(`${kernelName}: '${m.name}' must be a non-negative integer, got ${x}`);
        dv.setUint32(off, x >>> 0, true);
      }
    }
  }
  return bytes;
}
