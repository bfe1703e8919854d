import { z } from 'zod';
import type { SectionValues } from '../research/executor.js';
import { validateValues, type HyperparameterTable } from '../research/hyperparameters.js';
import { configKey, HYPOTHESIS_KEY, showValue } from './search-space.js';
import type { ParamSpec, PlannerContext, Proposal } from './types.js';

/** Validates a whole section against a search space's table (src/research/hyperparameters.ts supplies it). */
export type ValuesValidator = (
  values: unknown,
  table: HyperparameterTable,
) => { success: true; data: SectionValues } | { success: false; issues: string[] };

/** The validator for this council's agents, against the table of the search space being planned in. */
export function sectionValidator(agents: readonly string[]): ValuesValidator {
  return (values, table) => {
    const checked = validateValues(values, agents, table);
    return checked.success ? { success: true, data: checked.data as unknown as SectionValues } : checked;
  };
}

const inputSchema = z.strictObject({
  hypothesis: z
    .string({ error: 'hypothesis must be a string' })
    .trim()
    .min(10, { error: 'hypothesis must state a falsifiable claim (at least 10 characters)' })
    .max(2000, { error: 'hypothesis must be at most 2000 characters' }),
  changes: z.record(z.string(), z.unknown(), { error: 'changes must be an object of parameter name to new value' }),
});

/**
 * Checks a planner's proposal the way the API cannot: the ranges (strict tool schemas do not enforce numeric
 * bounds), that something changes, and that the configuration was never tried. Returns every problem at once,
 * worded for the model's corrective retry.
 */
export function checkProposal(
  input: unknown,
  context: Pick<PlannerContext, 'current' | 'history' | 'specs' | 'searchSpace'>,
  validate: ValuesValidator,
): { ok: true; proposal: Proposal } | { ok: false; issues: string[] } {
  const shape = inputSchema.safeParse(input);
  if (!shape.success) {
    return { ok: false, issues: shape.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)) };
  }
  const { hypothesis, changes } = shape.data;
  const names = new Map<string, ParamSpec>(context.specs.map((s) => [s.name, s]));
  const issues: string[] = [];
  const merged: Record<string, unknown> = { ...context.current };
  for (const [name, value] of Object.entries(changes)) {
    const spec = names.get(name);
    if (!spec) {
      issues.push(`${name} is not a parameter you may change (allowed: ${[...names.keys()].join(', ')})`);
      continue;
    }
    const before = context.current[name];
    merged[name] =
      spec.type === 'agent_weights' && value !== null && typeof value === 'object' && !Array.isArray(value) && before !== null && typeof before === 'object'
        ? { ...before, ...value }
        : value;
  }
  merged[HYPOTHESIS_KEY] = hypothesis;
  const checked = validate(merged, context.searchSpace.table);
  if (!checked.success) issues.push(...checked.issues);
  if (issues.length > 0) return { ok: false, issues };
  const values = checked.success ? checked.data : (merged as SectionValues);
  if (configKey(values) === configKey(context.current)) {
    return { ok: false, issues: ['changes leave every parameter as it is; change at least one parameter'] };
  }
  const repeat = context.history.find((r) => r.parameters && configKey(r.parameters) === configKey(values));
  if (repeat) {
    return {
      ok: false,
      issues: [`this exact configuration was already tried as ${repeat.experimentId} (result: ${repeat.result}); propose one not tried before`],
    };
  }
  const changed: SectionValues = {};
  for (const name of Object.keys(changes)) {
    const v = values[name];
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(context.current[name])) changed[name] = v;
  }
  return { ok: true, proposal: { hypothesis, changes: changed, values } };
}

/** "LORA_RANK 32 -> 48, LEARNING_RATE 5e-6 -> 1e-5": for commit messages and logs. */
export function describeChanges(before: SectionValues, changes: SectionValues): string {
  return Object.entries(changes)
    .map(([k, v]) => {
      const b = before[k];
      if (v !== null && typeof v === 'object' && b !== null && typeof b === 'object') {
        const moved = Object.entries(v).filter(([a, w]) => b[a] !== w);
        return moved.map(([a, w]) => `${k}.${a} ${showValue(b[a])} -> ${showValue(w)}`).join(', ');
      }
      return `${k} ${showValue(b)} -> ${showValue(v)}`;
    })
    .join(', ');
}
