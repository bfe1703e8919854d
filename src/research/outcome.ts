import { existsSync, readFileSync } from 'node:fs';
import { evalSummarySchema, type EvalSummary } from '../eval/summary.js';
import type { Logger } from '../log.js';
import { archiveExperiment, archivedSummaryPath, promoteAdapter, pruneAdapters, type ArtifactPaths } from './artifacts.js';
import { applyCouncilRules, type CouncilDecision, type CouncilThresholds, type NoiseGuard } from './council-rules.js';
import type { ExperimentExecution, ExperimentExecutor, ExperimentRequest, Mode } from './executor.js';
import type { GitLedger } from './ledger.js';
import { writeMemoryEvent } from './memory.js';
import { appendResult, readResults } from './results-file.js';
import { championRow, type ResultKind, type ResultRow } from './results-format.js';

/** Everything that records a decision: the files, the git ledger, and the executor to settle with. */
export interface Recorder {
  resultsPath: string;
  memoryEventsDir: string;
  artifacts: ArtifactPaths;
  keepDiscardedAdapters: number;
  agents: string[];
  thresholds: CouncilThresholds;
  noiseGuard: NoiseGuard;
  ledger: GitLedger;
  executor: ExperimentExecutor;
  log: Logger;
  now: () => Date;
  /** Rejects when this planner no longer holds the planner lease: checked before every write. */
  fence?: () => Promise<void>;
}

export interface ChampionScores {
  row: ResultRow;
  summary: EvalSummary;
}

/** The champion of (mode, model) with its archived eval summary, or null when either is missing. */
export function loadChampion(rec: Pick<Recorder, 'resultsPath' | 'artifacts'>, mode: Mode, model: string): ChampionScores | null {
  const row = championRow(readResults(rec.resultsPath).rows, mode, model);
  if (!row) return null;
  const path = archivedSummaryPath(rec.artifacts, row.experimentId);
  if (!existsSync(path)) return null;
  const parsed = evalSummarySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? { row, summary: parsed.data } : null;
}

const FAILED_TRAINING: Record<string, { result: ResultKind; why: string }> = {
  timeout: { result: 'timeout', why: 'training ran past its time limit' },
  diverged: { result: 'revert', why: 'training diverged' },
  'bad-config': { result: 'invalid', why: 'train.py rejected the section' },
  failed: { result: 'crash', why: 'training failed' },
  crashed: { result: 'crash', why: 'the trainer crashed' },
  canceled: { result: 'crash', why: 'training was canceled' },
};

export interface Verdict {
  result: ResultKind;
  reasons: string[];
  council: CouncilDecision | null;
  champion: ChampionScores | null;
}

/** What an execution means, before anything is written. Baselines are `base`; failures never reach the rules. */
export function judge(
  request: ExperimentRequest,
  execution: ExperimentExecution,
  champion: ChampionScores | null,
  rules: { thresholds: CouncilThresholds; noiseGuard: NoiseGuard },
): Verdict {
  const t = execution.training;
  if (request.kind === 'experiment' && t && t.status !== 'ok' && t.status !== 'budget') {
    const f = FAILED_TRAINING[t.status] ?? { result: 'crash' as const, why: `training ended with ${t.status}` };
    return { result: f.result, reasons: [`${f.why}${t.message ? `: ${t.message}` : ''}`], council: null, champion };
  }
  if (!execution.eval) {
    const why = request.kind === 'experiment' && !t ? 'training produced nothing to evaluate' : 'the evaluation failed';
    return { result: 'crash', reasons: [why], council: null, champion };
  }
  if (request.kind === 'baseline') {
    return { result: 'base', reasons: [`baseline of ${execution.mode} mode on ${execution.model} (${execution.modeReason})`], council: null, champion };
  }
  if (!champion) throw new Error(`no champion for ${execution.mode}/${execution.model}: record a baseline before judging ${execution.experimentId}`);
  const council = applyCouncilRules(execution.eval, champion.summary, rules.thresholds, rules.noiseGuard);
  return { result: council.decision, reasons: council.reasons, council, champion };
}

/**
 * Applies a finished experiment's verdict exactly once: artifacts, git (revert unless kept), promotion on keep,
 * the memory event, then the results.tsv row, which is the commit point; then the executor is settled. Every
 * step before the row is idempotent, so a planner that dies anywhere in between redoes them on restart and
 * arrives at the same state; a row already present means the decision was applied and only settling remains.
 */
export async function record(
  rec: Recorder,
  request: ExperimentRequest,
  execution: ExperimentExecution,
  verdict: Verdict,
  extra: { hypothesis: string; changes: Record<string, unknown> | null; line?: Mode },
): Promise<ResultRow> {
  const id = request.experimentId;
  const existing = readResults(rec.resultsPath).rows.find((r) => r.experimentId === id);
  if (existing) {
    if (existing.result !== 'keep' && existing.result !== 'base') {
      await rec.fence?.();
      await rec.ledger.revert(id, existing.commit);
    }
    await rec.executor.settle(id);
    return existing;
  }
  await rec.fence?.();
  const archived = archiveExperiment(rec.artifacts, execution);
  if (verdict.result !== 'keep' && request.kind === 'experiment') await rec.ledger.revert(id, request.commit);
  // A keep of an experiment committed beside another of its mode (queued while that one trained) moves its line to it.
  if (verdict.result === 'keep' && request.kind === 'experiment' && extra.line) await rec.ledger.adopt(extra.line, id, request.commit);
  if (verdict.result === 'keep' && archived.adapterDir) promoteAdapter(rec.artifacts, archived.adapterDir, id);
  const ev = execution.eval;
  const row: ResultRow = {
    experimentId: id,
    result: verdict.result,
    score: ev?.overall ?? null,
    jailbreak: ev?.jailbreak ?? null,
    agents: Object.fromEntries(rec.agents.map((a) => [a, ev?.perAgent[a] ?? null])),
    mode: execution.mode,
    model: execution.model,
    commit: request.commit,
    hypothesis: extra.hypothesis,
    parameters: request.values,
    trainLoss: execution.training?.trainLoss ?? null,
    valLoss: execution.training?.valLoss ?? null,
    trainSeconds: execution.training?.seconds ?? null,
    evalSeconds: ev?.seconds ?? null,
    wins: verdict.council?.paired.wins ?? null,
    losses: verdict.council?.paired.losses ?? null,
    p: verdict.council?.paired.pValue ?? null,
    reasons: verdict.reasons,
    adapterSha256: request.kind === 'baseline' ? (request.championAdapterSha256 ?? null) : execution.adapterSha256,
    timestamp: rec.now().toISOString(),
    holdout: ev?.holdout?.overall ?? null,
    proposer: request.proposer ?? (request.kind === 'baseline' ? 'baseline' : null),
  };
  writeEvent(rec, row, extra.changes, verdict);
  await rec.fence?.();
  appendResult(rec.resultsPath, row, rec.agents);
  await rec.executor.settle(id);
  const pruned = pruneAdapters(rec.artifacts, readResults(rec.resultsPath).rows, rec.keepDiscardedAdapters);
  rec.log.info({ experimentId: id, result: row.result, score: row.score, reasons: row.reasons, pruned }, 'experiment decided');
  return row;
}

/** A row for something that never produced an execution: an invalid proposal, or a commit found undecided. */
export async function recordWithoutExecution(
  rec: Pick<Recorder, 'resultsPath' | 'agents' | 'ledger' | 'memoryEventsDir' | 'now' | 'fence'>,
  row: Pick<ResultRow, 'experimentId' | 'result' | 'commit' | 'hypothesis' | 'parameters' | 'reasons'> & { changes?: Record<string, unknown> | null; proposer?: string | null },
): Promise<ResultRow> {
  const full: ResultRow = {
    score: null,
    jailbreak: null,
    agents: Object.fromEntries(rec.agents.map((a) => [a, null])),
    mode: null,
    model: null,
    trainLoss: null,
    valLoss: null,
    trainSeconds: null,
    evalSeconds: null,
    wins: null,
    losses: null,
    p: null,
    adapterSha256: null,
    timestamp: rec.now().toISOString(),
    holdout: null,
    proposer: row.proposer ?? null,
    experimentId: row.experimentId,
    result: row.result,
    commit: row.commit,
    hypothesis: row.hypothesis,
    parameters: row.parameters,
    reasons: row.reasons,
  };
  if (readResults(rec.resultsPath).rows.some((r) => r.experimentId === full.experimentId)) return full;
  await rec.fence?.();
  await rec.ledger.revert(full.experimentId, full.commit);
  writeEvent(rec, full, row.changes ?? null, null);
  await rec.fence?.();
  appendResult(rec.resultsPath, full, rec.agents);
  return full;
}

function writeEvent(rec: Pick<Recorder, 'memoryEventsDir'>, row: ResultRow, changes: Record<string, unknown> | null, verdict: Verdict | null): void {
  const champ = verdict?.champion?.summary;
  const scores = row.score !== null && row.jailbreak !== null
    ? { overall: row.score, jailbreak: row.jailbreak, perAgent: Object.fromEntries(Object.entries(row.agents).filter((e): e is [string, number] => e[1] !== null)) }
    : null;
  writeMemoryEvent(rec.memoryEventsDir, {
    experimentId: row.experimentId,
    timestamp: row.timestamp,
    decision: row.result,
    mode: row.mode,
    model: row.model,
    commit: row.commit,
    hypothesis: row.hypothesis,
    parameters: row.parameters,
    changes,
    scores,
    champion: champ && verdict?.champion ? { experimentId: verdict.champion.row.experimentId, overall: champ.overall, jailbreak: champ.jailbreak, perAgent: champ.perAgent } : null,
    paired: verdict?.council ? { wins: verdict.council.paired.wins, losses: verdict.council.paired.losses, ties: verdict.council.paired.ties, pValue: verdict.council.paired.pValue } : null,
    reasons: row.reasons,
  });
}
