// An 8-bit data set resident on the device (shaders/gather_bytes.wgsl): N rows of `row` bytes
// packed four to a u32 word, read only by `gatherScaled`, which draws rows by index into an f32
// tensor scaled on the way (x = byte·scale + shift). A distinct type, not a Tensor: its words are
// not floats and no other op may read them.
import source from '../../../shaders/gather_bytes.wgsl';
import type { Device } from '../../gpu/device.js';
import { Tensor, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';

const WG = 64;

export class ByteRows {
  /** The packed words; a raw buffer owner, never handed to an f32 op. */
  private readonly words: Tensor;
  readonly n: number;
  readonly row: number;

  constructor(readonly device: Device, data: Uint8Array, readonly rowShape: readonly number[], label = 'byte rows') {
    this.row = rowShape.reduce((a, b) => a * b, 1);
    if (!(this.row > 0) || data.length % this.row !== 0) throw new ShapeError(`${label}: ${data.length} bytes are not whole rows of ${fmtShape(rowShape)}`);
    this.n = data.length / this.row;
    const nw = Math.max(1, Math.ceil(data.length / 4));
    const padded = new Uint8Array(nw * 4);
    padded.set(data);
    const limit = device.limits.maxStorageBufferBindingSize;
    if (padded.byteLength > limit) throw new ShapeError(`${label}: ${padded.byteLength} bytes exceed the adapter's storage-binding limit of ${limit}`);
    // the words travel as the bit patterns of a Float32Array view (written to the buffer untouched)
    this.words = Tensor.fromArray(device, new Float32Array(padded.buffer), [nw], label).keep();
  }

  get bytes(): number {
    return this.n * this.row;
  }

  /** out [m, ...rowShape] = rows idx (f32 indices, [m] or [m, 1]) scaled: byte·scale + shift. */
  gatherScaled(idx: Tensor, scale: number, shift: number): Tensor {
    const d = sameDevice('ByteRows.gatherScaled', this.words, idx);
    const m = idx.size;
    const out = Tensor.empty(d, [m, ...this.rowShape]);
    d.run(
      { file: 'gather_bytes.wgsl', source, entry: 'main', constants: { WG } },
      { bytes: this.words, idx, out, p: { n: out.size, row: this.row, rows: this.n, scale, shift } },
      grid1d(d, Math.ceil(out.size / 4), WG),
    );
    return out;
  }

  dispose(): void {
    this.words.dispose();
  }
}
