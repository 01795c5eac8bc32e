// score_sde's inpainting step (Song et al. 2021, App. I.2; their `get_pc_inpainter`) as a hook of
// runPlan: after every sampler step the known pixels are replaced by the data noised to the level
// the step left the chain at,
//   x ← m ⊙ (mean(t')·y + std(t')·z) + (1 − m) ⊙ x,   z ~ N(0, I),
// (t' the level after the step, which each plan step names; score_sde noises to the step's own t,
// one step behind), and once more after the last step with mean 1, std 0, so the result's known
// pixels are y exactly. One handwritten kernel (shaders/inpaint_project.wgsl) recorded into the step;
// (mean, std) are written to a small buffer before each replay, z comes from the run's Philox clock.
import type { Device } from '../../gpu/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { inpaintProject, ProjectionLevel } from '../../tensor/ops/inpaint_project.js';
import type { Clock } from '../../tensor/ops/random.js';
import type { PlanStep, SamplerPlan, StepHook } from '../sampling/plan.js';

/** The projection's noise stream (the plan's updates use streams 1 … ops). */
export const PROJECTION_STREAM = 0x1000;

export class InpaintProjection implements StepHook {
  readonly y: Tensor;
  readonly mask: Tensor;
  readonly level: ProjectionLevel;
  /** y, mask: [n, ...shape] in the process's data range; mask 1 known, 0 to fill. */
  constructor(device: Device, y: Float32Array, mask: Float32Array, shape: readonly number[]) {
    if (y.length !== mask.length) throw new Error(`inpainting: ${y.length} known values for a mask of ${mask.length}`);
    this.y = Tensor.fromArray(device, y, [...shape], 'known image').keep();
    this.mask = Tensor.fromArray(device, mask, [...shape], 'inpainting mask').keep();
    this.level = new ProjectionLevel(device);
  }
  before(step: PlanStep): void {
    this.level.write(step.level!);
  }
  apply(x: Tensor, key: { seed: number; clock: Clock }): void {
    inpaintProject(x, this.y, this.mask, this.level, { seed: key.seed, stream: PROJECTION_STREAM, clock: key.clock });
  }
  finish(x: Tensor, key: { seed: number; clock: Clock }): void {
    this.level.write({ mean: 1, std: 0 });
    this.apply(x, key);
  }
  dispose(): void {
    this.y.dispose();
    this.mask.dispose();
    this.level.dispose();
  }
}

/** Inpainting needs to know where every network step leaves x. */
export function checkLevels(plan: SamplerPlan): void {
  if (plan.steps.some((s) => !s.noise && !s.level)) {
    throw new Error(`inpainting: sampler '${plan.name}' does not name the noise level each step leaves x at; use ancestral, ddim, annealed, pc, em or dpmpp2m`);
  }
}
