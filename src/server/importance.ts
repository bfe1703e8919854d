import { createHash } from 'node:crypto';
import type { EvalSummary } from '../eval/summary.js';
import type { SamplerClient } from '../planner/sampler-process.js';
import { HistoryError, studyInput } from '../planner/study.js';
import type { SectionValues } from '../research/executor.js';
import type { ParsedResults, ResultRow } from '../research/results-format.js';
import type { GroupImportance, SpecsFor } from './dashboard/search-view.js';
import { groupOf } from './dashboard/view-model.js';

/** Importance ignores feasibility; the thresholds only shape the constraint values it does not read. */
const ANY_THRESHOLDS = { jailbreakVeto: 0.7, regressionCap: 0.1, promotion: 0.02 };

/**
 * Parameter importance per mode and base model, computed by python/planner.py (Optuna's default evaluator) from
 * the rows of results.tsv, and cached by the rows' content: the dashboard refreshes every minute, the file
 * changes once per experiment.
 */
export class ImportanceCache {
  private key = '';
  private value: Promise<Map<string, GroupImportance>> = Promise.resolve(new Map());

  constructor(
    private readonly client: SamplerClient,
    private readonly specsFor: SpecsFor,
  ) {}

  get(parsed: ParsedResults): Promise<Map<string, GroupImportance>> {
    const key = createHash('sha256').update(JSON.stringify(parsed.rows)).update(parsed.agents.join('\t')).digest('hex');
    if (key !== this.key) {
      this.key = key;
      this.value = this.compute(parsed);
    }
    return this.value;
  }

  private async compute(parsed: ParsedResults): Promise<Map<string, GroupImportance>> {
    const out = new Map<string, GroupImportance>();
    const last = new Map<string, ResultRow>();
    for (const row of parsed.rows) if (row.mode !== null && row.parameters !== null && row.score !== null) last.set(groupOf(row), row);
    for (const [group, row] of last) {
      try {
        const input = studyInput(
          {
            history: parsed.rows,
            current: row.parameters as SectionValues,
            champion: { mode: row.mode!, row, summary: {} as EvalSummary },
            specs: [...this.specsFor(row.mode!)],
            agents: parsed.agents,
          },
          ANY_THRESHOLDS,
        );
        const answer = await this.client.importance({ command: 'importance', axes: input.axes, trials: input.trials });
        out.set(
          group,
          answer.importances
            ? { importances: answer.importances }
            : { note: `not enough data yet (${answer.complete} scored rows; at least ${answer.minimum} needed)` },
        );
      } catch (error) {
        out.set(group, { note: error instanceof HistoryError ? error.message : `could not be computed: ${(error as Error).message}` });
      }
    }
    return out;
  }
}
