// A terminal progress bar for training and sampling loops.
//   label  [██████████▌         ]  512/1000  51%  83.1 it/s  ETA 0:06  loss=0.4127
// On a TTY it rewrites one line (\r); otherwise (CI logs, pipes) it prints a full line at each
// ~10% of the total, so logs stay short, and at least once a minute between them, so a job of hours
// (a bits/dim run: 10% is 12 minutes) still shows it is moving. Writes to stderr by default; pass `stream` to redirect.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  /** Default: process.stderr in Node, console.log lines elsewhere. */
  stream?: ProgressStream;
  /** Force TTY (single rewritten line) or log mode; default from stream.isTTY. */
  tty?: boolean;
  /** Bar width in characters (TTY mode). Default 24. */
  width?: number;
  /** Minimum ms between TTY redraws. Default 100. */
  minIntervalMs?: number;
  /** Log mode: the longest ms between two lines while work advances. Default 60 000; Infinity: deciles only. */
  logIntervalMs?: number;
  /** Clock, for tests. Default performance.now(). */
  now?: () => number;
  /** Work already done before this process (a resumed run): counted in the bar, not in the rate. */
  initial?: number;
}

export type ProgressFields = Record<string, number | string>;

function defaultStream(): ProgressStream {
  const p = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  if (p?.stderr) return p.stderr;
  return { write: (s: string) => console.log(s.replace(/[\r\n]+$/, '')), isTTY: false };
}

/** 0:07, 1:02:03 */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '--:--';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

function formatField(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

function formatRate(r: number): string {
  if (!Number.isFinite(r) || r <= 0) return '- it/s';
  return r >= 1 ? `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} it/s` : `${(1 / r).toFixed(2)} s/it`;
}

export class Progress {
  readonly total: number;
  readonly label: string;
  private count = 0;
  private initial: number;
  private fields: ProgressFields = {};
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly minInterval: number;
  private readonly logInterval: number;
  private readonly now: () => number;
  private start: number;
  private lastDraw = -Infinity;
  private lastLine = 0;
  private nextDecile = 1;
  private finished = false;
  private lastLen = 0;

  constructor(opts: ProgressOptions) {
    this.total = Math.max(0, opts.total);
    this.label = opts.label ?? '';
    this.stream = opts.stream ?? defaultStream();
    this.tty = opts.tty ?? Boolean(this.stream.isTTY);
    this.width = opts.width ?? 24;
    this.minInterval = opts.minIntervalMs ?? 100;
    this.logInterval = opts.logIntervalMs ?? 60_000;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.initial = 0;
    this.resumeAt(opts.initial ?? 0);
  }

  /** Mark `done` units as finished before this process started (a resumed run); restarts the clock. */
  resumeAt(done: number): this {
    this.initial = Math.min(Math.max(0, done), this.total > 0 ? this.total : Infinity);
    this.count = this.initial;
    this.start = this.now();
    this.lastLine = this.start;
    this.nextDecile = this.total > 0 ? Math.floor((this.count / this.total) * 10) + 1 : 1;
    return this;
  }

  /** Advance by n (default 1) and merge `fields` (e.g. {loss}) into the shown values. */
  tick(n = 1, fields?: ProgressFields): this {
    if (this.finished) return this;
    this.count = Math.min(this.count + n, this.total > 0 ? this.total : this.count + n);
    if (fields) Object.assign(this.fields, fields);
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw >= this.minInterval || this.count >= this.total) {
        this.lastDraw = t;
        this.drawTty();
      }
    } else if (this.total > 0) {
      const frac = this.count / this.total;
      const decile = frac * 10 >= this.nextDecile;
      if ((decile || t - this.lastLine >= this.logInterval) && this.count < this.total) {
        while (frac * 10 >= this.nextDecile) this.nextDecile++;
        this.lastLine = t;
        this.stream.write(this.render(false) + '\n');
      }
    }
    return this;
  }

  /** Set fields without advancing. */
  set(fields: ProgressFields): this {
    Object.assign(this.fields, fields);
    return this;
  }

  /** Elapsed seconds since construction. */
  elapsed(): number {
    return (this.now() - this.start) / 1000;
  }

  /** Final line (ends the TTY line with a newline). Idempotent. */
  done(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields) Object.assign(this.fields, fields);
    this.finished = true;
    if (this.tty) {
      this.drawTty();
      this.stream.write('\n');
    } else {
      this.stream.write(this.render(false) + '\n');
    }
  }

  /** The status line (without \r or newline). */
  render(bar = true): string {
    const el = this.elapsed();
    const rate = el > 0 ? (this.count - this.initial) / el : 0;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (this.total > 0) {
      const frac = Math.min(this.count / this.total, 1);
      if (bar) {
        const cells = frac * this.width;
        const full = Math.floor(cells);
        const partial = ' ▏▎▍▌▋▊▉'[Math.floor((cells - full) * 8)] ?? '';
        parts.push(`|${'█'.repeat(full)}${full < this.width ? partial : ''}${' '.repeat(Math.max(0, this.width - full - 1))}|`);
      }
      const w = String(this.total).length;
      parts.push(`${String(this.count).padStart(w)}/${this.total}`, `${String(Math.floor(frac * 100)).padStart(3)}%`);
    } else {
      parts.push(String(this.count));
    }
    parts.push(formatRate(rate));
    if (this.finished || (this.total > 0 && this.count >= this.total)) parts.push(`in ${formatDuration(el)}`);
    else if (this.total > 0) parts.push(`ETA ${rate > 0 ? formatDuration((this.total - this.count) / rate) : '--:--'}`);
    for (const [k, v] of Object.entries(this.fields)) parts.push(`${k}=${formatField(v)}`);
    return parts.join('  ');
  }

  private drawTty(): void {
    let line = this.render(true);
    const cols = this.stream.columns;
    if (cols && line.length > cols - 1) line = line.slice(0, cols - 1);
    const pad = Math.max(0, this.lastLen - line.length);
    this.lastLen = line.length;
    this.stream.write('\r' + line + ' '.repeat(pad));
  }
}
