import { z } from 'zod';

/**
 * results.tsv, the experiment log: the seed's columns first and in its order (`experiment_id score result
 * jailbreak`, then one column per council agent), then our extras. Text fields escape backslash, tab, CR and
 * newline as `\\`, `\t`, `\r`, `\n`, so every row is exactly one line and splits on tabs. Pure: no I/O here.
 */
export const RESULT_KINDS = ['base', 'keep', 'revert', 'veto-jailbreak', 'veto-regression', 'crash', 'invalid', 'timeout'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];

export const SEED_COLUMNS = ['experiment_id', 'score', 'result', 'jailbreak'] as const;
export const EXTRA_COLUMNS = [
  'mode',
  'model',
  'commit',
  'hypothesis',
  'parameters',
  'train_loss',
  'val_loss',
  'train_seconds',
  'eval_seconds',
  'wins',
  'losses',
  'p',
  'reasons',
  'adapter_sha256',
  'timestamp',
  'holdout',
  'proposer',
] as const;

/**
 * Round 1 wrote files without the trailing `holdout` and `proposer` columns. They are still read (the missing
 * cells are empty), and `results-file.ts` upgrades such a file's header before it appends the first new row.
 */
export const LEGACY_EXTRA_COLUMNS = EXTRA_COLUMNS.slice(0, EXTRA_COLUMNS.indexOf('holdout'));

export interface ResultRow {
  experimentId: string;
  result: ResultKind;
  /** Overall and pooled jailbreak scores; null when nothing was evaluated (crash, invalid, timeout). */
  score: number | null;
  jailbreak: number | null;
  /** Per agent, in the council's order; null for an agent without a score. */
  agents: Record<string, number | null>;
  mode: 'full' | 'proxy' | null;
  model: string | null;
  commit: string | null;
  hypothesis: string;
  /** The section's values as trained (JSON in the file). */
  parameters: Record<string, unknown> | null;
  trainLoss: number | null;
  valLoss: number | null;
  trainSeconds: number | null;
  evalSeconds: number | null;
  wins: number | null;
  losses: number | null;
  p: number | null;
  /** One entry per rule or failure; joined with " | " in the file. */
  reasons: string[];
  adapterSha256: string | null;
  /** ISO 8601, UTC. */
  timestamp: string;
  /**
   * Overall score on the suite's holdout split: shown to the user beside the dev score, never to a planner.
   * Null when nothing was evaluated, or for rows written before the suite had a holdout.
   */
  holdout: number | null;
  /** Who proposed the section: `sampler`, `claude`, `hand` (a hand edit), `baseline`; null for older rows. */
  proposer: string | null;
}

export function header(agents: readonly string[]): string[] {
  return [...SEED_COLUMNS, ...agents, ...EXTRA_COLUMNS];
}

export function legacyHeader(agents: readonly string[]): string[] {
  return [...SEED_COLUMNS, ...agents, ...LEGACY_EXTRA_COLUMNS];
}

export function escapeField(text: string): string {
  return text.replace(/[\\\t\r\n]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : '\\n'));
}

export function unescapeField(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'r' ? '\r' : c === 'n' ? '\n' : c));
}

/** A field with a lone trailing backslash or an unknown escape was not written by `escapeField`. */
const WELL_ESCAPED = /^(?:[^\\]|\\[\\trn])*$/;

const REASON_SEPARATOR = ' | ';

const num = (x: number | null, digits: number) => (x === null ? '' : Number(x.toFixed(digits)).toString());

/** One line (without its newline) for the given agent columns. */
export function formatRow(row: ResultRow, agents: readonly string[]): string {
  const cells = [
    row.experimentId,
    num(row.score, 4),
    row.result,
    num(row.jailbreak, 4),
    ...agents.map((a) => num(row.agents[a] ?? null, 4)),
    row.mode ?? '',
    row.model ?? '',
    row.commit ?? '',
    row.hypothesis,
    row.parameters === null ? '' : JSON.stringify(row.parameters),
    num(row.trainLoss, 4),
    num(row.valLoss, 4),
    num(row.trainSeconds, 1),
    num(row.evalSeconds, 1),
    row.wins === null ? '' : String(row.wins),
    row.losses === null ? '' : String(row.losses),
    row.p === null ? '' : Number(row.p.toPrecision(4)).toString(),
    row.reasons.map((r) => r.replaceAll(REASON_SEPARATOR, ' / ')).join(REASON_SEPARATOR),
    row.adapterSha256 ?? '',
    row.timestamp,
    num(row.holdout, 4),
    row.proposer ?? '',
  ];
  return cells.map(escapeField).join('\t');
}

export interface CorruptLine {
  /** 1-based, as an editor shows it. */
  line: number;
  reason: string;
}

export interface ParsedResults {
  agents: string[];
  rows: ResultRow[];
  corrupt: CorruptLine[];
}

const optionalNumber = z.union([z.literal(''), z.string().regex(/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i)]).transform((s) => (s === '' ? null : Number(s)));
const optionalInt = z.union([z.literal(''), z.string().regex(/^\d+$/)]).transform((s) => (s === '' ? null : Number(s)));
const optionalText = z.string().transform((s) => (s === '' ? null : s));
const score = optionalNumber.refine((x) => x === null || (x >= 0 && x <= 1), 'a score must lie between 0 and 1');

const rowSchema = z.object({
  experiment_id: z.string().regex(/^[A-Za-z0-9_-]+$/, 'experiment ids are letters, digits, "-" and "_"'),
  score,
  result: z.enum(RESULT_KINDS),
  jailbreak: score,
  mode: z.union([z.literal(''), z.enum(['full', 'proxy'])]).transform((s) => (s === '' ? null : s)),
  model: optionalText,
  commit: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{7,64}$/)]).transform((s) => (s === '' ? null : s)),
  hypothesis: z.string(),
  parameters: z.string().transform((s, ctx) => {
    if (s === '') return null;
    try {
      const value: unknown = JSON.parse(s);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'parameters is not a JSON object' });
    return z.NEVER;
  }),
  train_loss: optionalNumber,
  val_loss: optionalNumber,
  train_seconds: optionalNumber,
  eval_seconds: optionalNumber,
  wins: optionalInt,
  losses: optionalInt,
  p: optionalNumber,
  reasons: z.string().transform((s) => (s === '' ? [] : s.split(REASON_SEPARATOR))),
  adapter_sha256: z.union([z.literal(''), z.string().regex(/^[0-9a-f]{64}$/)]).transform((s) => (s === '' ? null : s)),
  timestamp: z.string().min(1),
  holdout: score,
  proposer: z.union([z.literal(''), z.string().regex(/^[a-z][a-z0-9-]*$/)]).transform((s) => (s === '' ? null : s)),
});

/**
 * Parses the whole file. Rows that do not parse are reported by line number and skipped; the caller decides
 * what to do about them, and nothing here ever rewrites the file.
 */
export function parseResults(text: string): ParsedResults {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const head = lines[0]?.split('\t') ?? [];
  const seedOk = SEED_COLUMNS.every((c, i) => head[i] === c);
  const modeAt = head.indexOf('mode');
  const extras = head.slice(modeAt).join('\t');
  if (!seedOk || modeAt < SEED_COLUMNS.length || (extras !== EXTRA_COLUMNS.join('\t') && extras !== LEGACY_EXTRA_COLUMNS.join('\t'))) {
    throw new Error(
      `results.tsv header is not "${[...SEED_COLUMNS, '<agents>', ...EXTRA_COLUMNS].join(' ')}" (line 1 reads "${(lines[0] ?? '').slice(0, 120)}")`,
    );
  }
  const agents = head.slice(SEED_COLUMNS.length, modeAt);
  const rows: ResultRow[] = [];
  const corrupt: CorruptLine[] = [];
  lines.slice(1).forEach((line, index) => {
    const lineNo = index + 2;
    const cells = line.split('\t');
    if (cells.length !== head.length) {
      corrupt.push({ line: lineNo, reason: `expected ${head.length} tab-separated fields, found ${cells.length}` });
      return;
    }
    const bad = cells.findIndex((c) => !WELL_ESCAPED.test(c));
    if (bad >= 0) {
      corrupt.push({ line: lineNo, reason: `field ${head[bad]} has a stray backslash escape` });
      return;
    }
    const record: Record<string, string> = { holdout: '', proposer: '', ...Object.fromEntries(head.map((h, i) => [h, unescapeField(cells[i]!)])) };
    const parsed = rowSchema.safeParse(record);
    const agentScores = agents.map((a) => score.safeParse(record[a]));
    const badAgent = agentScores.findIndex((r) => !r.success);
    if (!parsed.success || badAgent >= 0) {
      const issue = parsed.success ? null : parsed.error.issues[0];
      corrupt.push({
        line: lineNo,
        reason: issue ? `${String(issue.path[0])}: ${issue.message}` : `${agents[badAgent]}: not a score between 0 and 1`,
      });
      return;
    }
    const r = parsed.data;
    rows.push({
      experimentId: r.experiment_id,
      result: r.result,
      score: r.score,
      jailbreak: r.jailbreak,
      agents: Object.fromEntries(agents.map((a, i) => [a, agentScores[i]!.success ? agentScores[i]!.data : null])),
      mode: r.mode,
      model: r.model,
      commit: r.commit,
      hypothesis: r.hypothesis,
      parameters: r.parameters,
      trainLoss: r.train_loss,
      valLoss: r.val_loss,
      trainSeconds: r.train_seconds,
      evalSeconds: r.eval_seconds,
      wins: r.wins,
      losses: r.losses,
      p: r.p,
      reasons: r.reasons,
      adapterSha256: r.adapter_sha256,
      timestamp: r.timestamp,
      holdout: r.holdout,
      proposer: r.proposer,
    });
  });
  return { agents, rows, corrupt };
}

/** The row whose scores every new experiment of this mode and model is judged against: the last base or keep. */
export function championRow(rows: readonly ResultRow[], mode: 'full' | 'proxy', model: string): ResultRow | null {
  for (let i = rows.length - 1; i >= 0; i -= 1) {
    const row = rows[i]!;
    if ((row.result === 'base' || row.result === 'keep') && row.mode === mode && row.model === model) return row;
  }
  return null;
}
