// Parameters and modules. A module declares its parameters (name, shape, initial values) when it
// is built; `materialize` then places all of a model's parameters in one flat GPU arena, each a
// view at an aligned offset, so the optimizer updates every parameter with one fused kernel and
// the global gradient norm is one reduction.
import type { Device } from '../gpu/device.js';
import { Tensor, numel } from '../tensor/tensor.js';

export class Param {
  /** The live tensor (a view into the model's arena) once materialized. */
  value!: Tensor;
  /** Element offset inside the arena. */
  offset = 0;
  /**
   * How a PyTorch port of the layer stores this tensor, for checkpoints: its name there (a
   * GroupNorm's γ is `weight`) and whether it is the transpose of ours (a dense layer's weight is
   * [in, out] here, [out, in] in torch.nn.Linear).
   */
  torch: { name?: string; transpose?: boolean } = {};
  constructor(
    readonly name: string,
    readonly shape: number[],
    public init: Float32Array,
  ) {}
  get size() {
    return numel(this.shape);
  }
}

export abstract class Module {
  private _params: [string, Param][] = [];
  private _children: [string, Module][] = [];

  protected param(name: string, shape: number[], init: Float32Array, torch: Param['torch'] = {}): Param {
    const p = new Param(name, shape, init);
    p.torch = torch;
    this._params.push([name, p]);
    return p;
  }

  /**
   * Register a sub-module; its parameters are named `name.<its names>`. With name '' they keep
   * their own names, as the parent's (a layer factored out of a model whose files name them flat).
   */
  protected child<M extends Module>(name: string, m: M): M {
    this._children.push([name, m]);
    return m;
  }

  /** Every parameter with its dotted name as a PyTorch port of the model would have it. */
  torchNames(): Map<Param, string> {
    const out = new Map<Param, string>();
    const walk = (m: Module, prefix: string) => {
      for (const [n, p] of m._params) out.set(p, prefix + (p.torch.name ?? n));
      for (const [n, c] of m._children) walk(c, n ? `${prefix}${n}.` : prefix);
    };
    walk(this, '');
    return out;
  }

  /** Every parameter with its dotted name, in declaration order. */
  namedParameters(prefix = ''): [string, Param][] {
    const out: [string, Param][] = this._params.map(([n, p]) => [prefix + n, p]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(n ? `${prefix}${n}.` : prefix));
    return out;
  }

  parameterCount(): number {
    return this.namedParameters().reduce((s, [, p]) => s + p.size, 0);
  }
}

/** One flat buffer holding every parameter of a model (plus matching gradient and optimizer arenas). */
export class ParamArena {
  readonly size: number;
  readonly data: Tensor;
  readonly params: [string, Param][];

  constructor(readonly device: Device, model: Module) {
    this.params = model.namedParameters();
    const align = Math.max(1, device.limits.minStorageBufferOffsetAlignment / 4);
    let off = 0;
    for (const [, p] of this.params) {
      p.offset = off;
      off += Math.ceil(p.size / align) * align;
    }
    this.size = Math.max(off, 1);
    const host = new Float32Array(this.size);
    for (const [name, p] of this.params) {
      if (p.init.length !== p.size) throw new Error(`parameter ${name}: init has ${p.init.length} values for shape [${p.shape}]`);
      host.set(p.init, p.offset);
    }
    this.data = Tensor.fromArray(device, host, [this.size], 'parameters').keep();
    for (const [name, p] of this.params) {
      p.value = this.data.view(p.offset, p.shape).keep();
      p.value.label = name;
      p.value.requiresGrad = true;
    }
  }

  /** Free the parameters (the arena and its views). */
  dispose(): void {
    for (const [, p] of this.params) p.value?.dispose();
    this.data.dispose();
  }

  /** A zero-filled arena of the same layout (gradients, Adam moments, EMA). */
  zerosLike(label: string): Tensor {
    return Tensor.fromArray(this.device, new Float32Array(this.size), [this.size], label).keep();
  }

  /** Views of `arena` (same layout) for each parameter. */
  viewsOf(arena: Tensor): Tensor[] {
    return this.params.map(([, p]) => arena.view(p.offset, p.shape).keep());
  }

  /** Read every parameter back: name → values (for checkpoints). */
  async read(arena: Tensor = this.data): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const all = await arena.toArray();
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of this.params) out.set(name, { shape: p.shape, data: all.slice(p.offset, p.offset + p.size) });
    return out;
  }

  /** Load parameters by name (all must be present with matching shapes). */
  load(values: Map<string, { shape: number[]; data: Float32Array }>, arena: Tensor = this.data): void {
    const host = new Float32Array(this.size);
    for (const [name, p] of this.params) {
      const v = values.get(name);
      if (!v) throw new Error(`checkpoint has no parameter '${name}'`);
      if (v.data.length !== p.size) throw new Error(`checkpoint parameter '${name}' has ${v.data.length} values, model wants [${p.shape}]`);
      host.set(v.data, p.offset);
    }
    arena.write(host);
  }
}

export function materialize(device: Device, model: Module): ParamArena {
  return new ParamArena(device, model);
}
