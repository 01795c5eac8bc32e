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
/**
 * The device was lost mid-work (driver reset, GPU removed, the tab's device reclaimed, destroy()):
 * everything on it is gone. Work in flight fails with this; files written before it stay intact.
 */
export class DeviceLostError extends DeviceError {}
/** The device could not find memory for a buffer: names the tensor, its size, the device's live bytes and the limit. */
export class OutOfMemoryError extends LimitError {}
/** Values that came out NaN or ±Inf where numbers were promised (samples of a diverged chain). */
export class NonFiniteError extends ScoreGpuError {}

/**
 * A file that cannot be used as given (truncated, wrong magic or dtype, a header that disagrees
 * with the bytes, weights of another model, NaN in weights): one line naming the file and what is
 * wrong. `file` is the path (or the name the bytes were given under).
 */
export class FileError extends ScoreGpuError {
  constructor(
    readonly file: string,
    what: string,
  ) {
    super(`${file}: ${what}`);
  }
}

/** Quote untrusted text (a header, a name read from a file) for a one-line message: printable, short. */
export function quoteUntrusted(text: string, max = 80): string {
  let s = '';
  let n = 0;
  for (const ch of text) {
    if (n++ >= max) return `'${s}…'`;
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) s += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0xfffd || (c >= 0x2028 && c <= 0x2029)) s += `\\u{${c.toString(16)}}`;
    else s += ch === "'" ? "\\'" : ch;
  }
  return `'${s}'`;
}

export function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}
