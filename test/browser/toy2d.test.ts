// The browser example, end to end in a real headless Chromium: build the page bundle, serve it on
// an ephemeral localhost port, train a small score network on WebGPU inside the page (Chromium's
// bundled SwiftShader on a machine without a GPU), sample from it, and check the values the page
// computed. Saves screenshots to test-output/ (and to the README's docs/img/ when
// SCOREGPU_UPDATE_SCREENSHOTS=1), so a test run leaves the work tree clean.
// Skipped (not passed) when /usr/bin/chromium is missing: `bash scripts/setup.sh --browser` installs it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, process.env.SCOREGPU_UPDATE_SCREENSHOTS === '1' ? 'docs/img' : 'test-output');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`test/browser: ${CHROMIUM} not found — browser test SKIPPED (install it: bash scripts/setup.sh --browser)`);

// The run the test drives: small enough for SwiftShader on 2 CPU cores (1–2 minutes in all, depending on load).
// NCSN rather than plain DSM: at σ = 0.1 the DSM loss is dominated by its irreducible noise term
// (≈ D/(2σ²) = 100) and moves by a few percent in 150 steps; the σ²-weighted NCSN loss falls
// visibly (≈ 1.0 → 0.77), so "the loss went down" is a real check.
const TRAIN = { data: 'swissroll', loss: 'ncsn', steps: 200, batchSize: 256, lr: 2e-3, hidden: [64, 64], logEvery: 5, previewEvery: 100, previewSamples: 200, previewSteps: 100, sampleAfter: false };
const SAMPLE = { sampler: 'annealed', steps: 40, stepSize: 5e-5, n: 300, weights: 'current', seed: 1 };

type Hooks = {
  state: string;
  step: number;
  adapter: string;
  losses: { step: number; loss: number }[];
  errors: string[];
  data: Float32Array;
  train(o: object): Promise<{ steps: number; stepsPerSec: number }>;
  sample(o: object): Promise<{ samples: Float32Array; ms: number }>;
  inkedPixels(which: string): number;
};

describe('browser example: toy2d', () => {
  let server: { url: string; close(): Promise<void> } | null = null;
  let browser: import('playwright-core').Browser | null = null;

  beforeAll(async () => {
    if (!haveChromium) return;
    const t = performance.now();
    const build = await import(pathToFileURL(join(ROOT, 'build.mjs')).href);
    await build.buildBrowser();
    const { serve } = await import(pathToFileURL(join(ROOT, 'scripts/serve.mjs')).href);
    server = await serve(join(ROOT, 'dist/examples'), 0);
    console.log(`test/browser: built and serving in ${((performance.now() - t) / 1000).toFixed(1)} s at ${server!.url}`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.skipIf(!haveChromium)('trains and samples live on WebGPU in headless Chromium', async () => {
    const { chromium } = await import('playwright-core');
    const t0 = performance.now();
    const lap = (what: string) => console.log(`test/browser: ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      chromiumSandbox: false,
      args: ['--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1240, height: 780 }, deviceScaleFactor: 1 });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    const noErrors = () => expect(consoleErrors, 'errors in the page').toEqual([]);

    await page.goto(server!.url + 'toy2d/');
    await page.waitForFunction(() => (window as any).scoregpu && (window as any).scoregpu.state !== 'loading', null, { timeout: 60_000 });
    const boot = await page.evaluate(() => {
      const h = (window as any).scoregpu as Hooks;
      return { state: h.state, adapter: h.adapter, errors: h.errors };
    });
    lap(`WebGPU up (${boot.adapter})`);
    expect(boot.errors).toEqual([]);
    expect(boot.state).toBe('ready');
    noErrors();

    // Train; screenshot while it runs (after the preview at step 100 has been drawn).
    const training = page.evaluate((o) => ((window as any).scoregpu as Hooks).train(o).then((r) => ({ steps: r.steps, stepsPerSec: r.stepsPerSec })), TRAIN);
    training.catch(() => {}); // awaited below; keep a failure from being unhandled meanwhile
    await page.waitForFunction(() => ((window as any).scoregpu as Hooks).step >= 120 || ((window as any).scoregpu as Hooks).errors.length > 0, null, { timeout: 150_000, polling: 200 });
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'browser-training.png') });
    lap('training screenshot');
    const trained = await training;
    lap(`trained ${trained.steps} steps at ${trained.stepsPerSec.toFixed(1)} steps/s`);
    noErrors();

    const losses = await page.evaluate(() => ((window as any).scoregpu as Hooks).losses.map((e) => e.loss));
    expect(trained.steps).toBe(TRAIN.steps);
    expect(losses.length).toBe(TRAIN.steps / TRAIN.logEvery);
    expect(losses.every(Number.isFinite)).toBe(true);
    const k = Math.max(1, Math.floor(losses.length / 5));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(losses.slice(0, k)), last = mean(losses.slice(-k));
    console.log(`test/browser: loss mean of first ${k} logs ${first.toFixed(4)} → last ${k} ${last.toFixed(4)}`);
    expect(last).toBeLessThan(first);

    // Sample with the annealed sampler; read the samples back from the page.
    const res = await page.evaluate(async (o) => {
      const h = (window as any).scoregpu as Hooks;
      const r = await h.sample(o);
      return { samples: Array.from(r.samples), ms: r.ms, state: h.state };
    }, SAMPLE);
    lap(`sampled ${SAMPLE.n} points in ${(res.ms / 1000).toFixed(1)} s`);
    noErrors();
    expect(res.state).toBe('ready');
    expect(res.samples.length).toBe(2 * SAMPLE.n);
    expect(res.samples.every(Number.isFinite)).toBe(true);
    // Within the data's range: the toy sets live in [-4.5, 4.5]². Annealed Langevin starts at
    // σ₁ = 3, where points legitimately wander to |x| ≈ 8; a model trained for only 200 steps
    // has a rough tail, so a few stragglers are allowed, not a blow-up.
    let inside = 0;
    for (let i = 0; i < res.samples.length; i += 2) if (Math.max(Math.abs(res.samples[i]), Math.abs(res.samples[i + 1])) < 5) inside++;
    const maxAbs = Math.max(...res.samples.map(Math.abs));
    console.log(`test/browser: ${inside} of ${SAMPLE.n} samples inside [-5, 5]², max |x| ${maxAbs.toFixed(2)}`);
    expect(inside / SAMPLE.n).toBeGreaterThanOrEqual(0.9);
    expect(maxAbs).toBeLessThan(20);
    const ink = await page.evaluate(() => {
      const h = (window as any).scoregpu as Hooks;
      return { samples: h.inkedPixels('samples'), field: h.inkedPixels('field'), loss: h.inkedPixels('loss') };
    });
    expect(ink.samples).toBeGreaterThan(1000);
    expect(ink.field).toBeGreaterThan(1000);
    expect(ink.loss).toBeGreaterThan(500);
    await page.screenshot({ path: join(SHOTS, 'browser-samples.png') });
    lap('samples screenshot');
    noErrors();
  }, 240_000);
});
