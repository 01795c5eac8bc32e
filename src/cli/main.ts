// The `scoregpu` command: one function per subcommand, options declared as data.
import { createDevice, type Device } from '../gpu/device.js';
import { ScoreGpuError } from '../gpu/errors.js';
import { UsageError, parseArgs, usage, type OptSpec } from './args.js';
import { printInfo } from './info.js';
import { trainCommand, TRAIN_OPTS } from './train.js';
import { sampleCommand, SAMPLE_OPTS } from './sample.js';
import { evalCommand, EVAL_OPTS } from './eval.js';
import { demoCommand } from './demo.js';
import { benchCommand, BENCH_OPTS } from './bench.js';
import { quickstartCommand, QUICKSTART_OPTS } from './quickstart.js';
import { exportImageCommand, EXPORT_OPTS } from './images.js';
import { inpaintCommand, INPAINT_OPTS } from './inpaint.js';
import { trainClassifierCommand, CLASSIFIER_OPTS } from './classifier.js';

interface Command {
  summary: string;
  opts: OptSpec;
  run: (device: Device, args: Record<string, any>) => Promise<number | void>;
}

const DEVICE_OPTS: OptSpec = {
  backend: { type: 'string', help: "Dawn backend ('vulkan', 'metal', 'd3d12')" },
  adapter: { type: 'string', help: 'pick the adapter whose name contains this text' },
  debug: { type: 'boolean', help: "stack traces for every error, and Dawn's start-up messages (also SCOREGPU_DEBUG=1)" },
};

const COMMANDS: Record<string, Command> = {
  info: { summary: 'print the WebGPU adapter, its features and limits', opts: { json: { type: 'boolean', help: 'JSON output' } }, run: async (d, a) => printInfo(d, !!a.json) },
  demo: { summary: 'run a matmul and a conv2d on the GPU and check them against the CPU reference', opts: {}, run: (d) => demoCommand(d) },
  train: { summary: 'train a score model: an MLP on a toy 2-D set or an [N, D] .npy file, or a U-Net on images (Fashion-MNIST, IDX, .npy)', opts: TRAIN_OPTS, run: trainCommand },
  'train-classifier': { summary: 'train a noise-conditional classifier on a diffusion run\'s data and noise levels, for classifier guidance (sample --classifier)', opts: CLASSIFIER_OPTS, run: trainClassifierCommand },
  sample: { summary: 'draw samples from a trained run (toy: Langevin; images: ancestral, DDIM, annealed Langevin)', opts: SAMPLE_OPTS, run: sampleCommand },
  eval: { summary: 'sample-quality metrics of a run against held-out data (JSON)', opts: EVAL_OPTS, run: evalCommand },
  inpaint: { summary: 'fill in masked pixels of images with an image run (score_sde projection, RePaint resampling): grid + .npy', opts: INPAINT_OPTS, run: inpaintCommand },
  export: { summary: 'write an image run\'s EMA weights as a model folder (model.safetensors in PyTorch layout + config.json)', opts: EXPORT_OPTS, run: exportImageCommand },
  quickstart: { summary: 'train, sample and evaluate the default toy model, writing pictures', opts: QUICKSTART_OPTS, run: quickstartCommand },
  bench: { summary: 'kernel and model timings on this adapter', opts: BENCH_OPTS, run: benchCommand },
};

function help(): string {
  return [
    'scoregpu — score-based generative modeling on WebGPU',
    '',
    'usage: scoregpu <command> [options]    (scoregpu <command> --help for its options)',
    '',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(12)}${c.summary}`),
  ].join('\n');
}

/**
 * Whether an error is one a user can act on (a bad file, flag or option, a missing data set, no
 * adapter, a limit): our own error classes, Node's system errors (ENOENT, EACCES, ENOSPC, ...) and
 * plain Errors, which our code throws with a message naming the thing. Anything else — a
 * TypeError or RangeError from deep inside — is a bug in scoregpu.
 */
export function isExpectedError(e: unknown): boolean {
  if (e instanceof ScoreGpuError || e instanceof UsageError) return true;
  if (!(e instanceof Error)) return false;
  if (typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string') return true;
  return Object.getPrototypeOf(e) === Error.prototype;
}

/** An error message as one line (the terminal gets one line per expected failure). */
function oneLine(msg: string, max = 1000): string {
  const s = msg.split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return s.length > max ? s.slice(0, max) + '…' : s;
}

function debugWanted(argv: string[]): boolean {
  const env = (process.env.SCOREGPU_DEBUG ?? '').trim();
  return argv.includes('--debug') || argv.some((a) => /^--debug=(1|true|yes)$/i.test(a)) || (env !== '' && !/^(0|false|no)$/i.test(env));
}

/**
 * Print an error that ended a command. Expected failures: `scoregpu <cmd>: <message>` on one line
 * (the stack too with --debug). Bugs: say so, with the stack, always.
 */
export function reportError(name: string, e: unknown, debug: boolean): number {
  const err = e as Error;
  if (isExpectedError(e)) {
    console.error(`scoregpu ${name}: ${oneLine(err.message)}`);
    if (debug && err.stack) console.error(err.stack);
    return 1;
  }
  console.error(`scoregpu ${name}: internal error — this is a bug in scoregpu, please report it with what follows:`);
  console.error(err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(e));
  return 70; // EX_SOFTWARE
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`scoregpu: unknown command '${name}'; valid: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  const spec = { ...cmd.opts, ...DEVICE_OPTS };
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usage(name, cmd.summary, spec));
    return 0;
  }
  const debug = debugWanted(rest);
  let device: Device | null = null;
  try {
    const args = parseArgs(rest, spec, name);
    device = await createDevice({ backend: args.backend, adapter: args.adapter, quiet: !debug });
    const code = await cmd.run(device, args);
    await device.sync();
    return code ?? 0;
  } catch (e: any) {
    if (e instanceof UsageError) {
      console.error(`scoregpu ${oneLine(e.message)} (scoregpu ${name} --help lists the options)`);
      return 2;
    }
    return reportError(name, e, debug);
  }
}
