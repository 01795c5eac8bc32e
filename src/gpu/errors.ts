// Errors the runtime throws. Each names the thing that went wrong (kernel, tensor, limit) so a
// user never has to guess which of a step's hundred dispatches failed.

export class ScoreGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** WGSL failed to parse or compile: names the shader file and line. */
export class KernelCompileError extends ScoreGpuError {}
/** A dispatch or validation error surfaced by the device, naming the kernel(s) in flight. */
export class KernelError extends ScoreGpuError {}
/** A request beyond the adapter's limits (buffer size, workgroup storage, dispatch size). */
export class LimitError extends ScoreGpuError {}
/** Shapes that do not fit together; the message names both shapes. */
export class ShapeError extends ScoreGpuError {}
/** No adapter, or the device was lost. */
export class DeviceError extends ScoreGpuError {}

export function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}
