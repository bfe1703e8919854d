import { Command } from 'commander';
import { loadCouncil } from '../../council/load.js';
import { columnsMismatch, readResults } from '../../research/results-file.js';
import { championRow, type ResultRow } from '../../research/results-format.js';
import { loadConfig } from '../../config/load.js';
import { color, formatTable, printJson } from '../output.js';

/** The champion row of every (mode, model) present: what `run` judges against. */
export function championIds(rows: readonly ResultRow[]): Set<string> {
  const pairs = new Set(rows.filter((r) => r.mode && r.model).map((r) => `${r.mode}\u0000${r.model}`));
  const ids = new Set<string>();
  for (const pair of pairs) {
    const [mode, model] = pair.split('\u0000') as ['full' | 'proxy', string];
    const row = championRow(rows, mode, model);
    if (row) ids.add(row.experimentId);
  }
  return ids;
}

const paint = (result: string) =>
  result === 'keep' ? color.green(result) : result.startsWith('veto') || result === 'crash' ? color.red(result) : result === 'base' ? result : color.yellow(result);

export function resultsCommand(): Command {
  return new Command('results')
    .description('results.tsv as a table, newest last; * marks the champion of each mode and base model; holdout is the holdout split, which never decides')
    .option('--json', 'print the rows (and any corrupt lines) as JSON')
    .action((options: { json?: boolean }, command: Command) => {
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      const config = loadConfig({ file });
      const parsed = readResults(config.paths.results);
      const champions = championIds(parsed.rows);
      for (const c of parsed.corrupt) process.stderr.write(`${config.paths.results}:${c.line}: corrupt row skipped (${c.reason})\n`);
      const mismatch = councilMismatch(config.council.dir, config.paths.results, parsed.agents);
      if (mismatch) process.stderr.write(`warning: ${mismatch}\n`);
      if (options.json) {
        printJson({ file: config.paths.results, agents: parsed.agents, rows: parsed.rows.map((r) => ({ ...r, champion: champions.has(r.experimentId) })), corrupt: parsed.corrupt });
        return;
      }
      if (parsed.rows.length === 0) {
        process.stdout.write(`no experiments yet in ${config.paths.results}\n`);
        return;
      }
      const f = (x: number | null) => (x === null ? '' : x.toFixed(3));
      const rows = parsed.rows.map((r) => [
        `${champions.has(r.experimentId) ? '*' : ' '} ${r.experimentId}`,
        f(r.score),
        paint(r.result),
        f(r.jailbreak),
        f(r.holdout),
        ...parsed.agents.map((a) => f(r.agents[a] ?? null)),
        r.mode ?? '',
        r.wins === null ? '' : `${r.wins}/${r.losses}`,
        r.p === null ? '' : r.p.toFixed(3),
        (r.reasons.find((x) => /FAIL/.test(x)) ?? r.reasons.at(-1) ?? '').slice(0, 90),
        r.hypothesis.replace(/\s+/g, ' ').slice(0, 60),
      ]);
      process.stdout.write(
        `${formatTable(['  experiment_id', 'score', 'result', 'jailbreak', 'holdout', ...parsed.agents, 'mode', 'w/l', 'p', 'why', 'hypothesis'], rows)}\n`,
      );
    });
}

/** Why `run` would refuse this file, when its agent columns are not the council's; null when they match. */
function councilMismatch(councilDir: string, path: string, found: readonly string[]): string | null {
  if (found.length === 0) return null;
  let agents: string[];
  try {
    agents = loadCouncil(councilDir).agents.map((a) => a.id);
  } catch (error) {
    return `could not load the council in ${councilDir} to check the columns: ${(error as Error).message}`;
  }
  return found.join('\t') === agents.join('\t') ? null : columnsMismatch(path, found, agents);
}
