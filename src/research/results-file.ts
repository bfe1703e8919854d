import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDirectory, writeAll, writeFileAtomic } from '../fs/atomic.js';
import { formatRow, header, legacyHeader, parseResults, type ParsedResults, type ResultRow } from './results-format.js';

/**
 * results.tsv on disk. Append-only: a row is one `write` of the whole line on an O_APPEND descriptor, then
 * fsync, so a crash leaves either the whole row or none of it (and a torn last line is isolated by a newline,
 * reported by the reader, never repaired). A write the disk cuts short is truncated away and reported as an error. The one rewrite is the header upgrade of a round-1 file, done
 * atomically (temporary file, fsync, rename) before the first new row is appended.
 */
export class ResultsFileError extends Error {
  override readonly name = 'ResultsFileError';
}

export function readResults(path: string): ParsedResults {
  if (!existsSync(path)) return { agents: [], rows: [], corrupt: [] };
  try {
    return parseResults(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ResultsFileError(`${path}: ${(error as Error).message}`);
  }
}

/**
 * Appends one row, writing the header first when the file is new or empty (in the same single write). The
 * agent columns of an existing file must match the council's, in order: a different council needs its own file.
 */
export function appendResult(path: string, row: ResultRow, agents: readonly string[]): void {
  const expected = header(agents).join('\t');
  mkdirSync(dirname(path), { recursive: true });
  upgradeLegacyHeader(path, agents);
  // a+ is O_APPEND with read access, so the header and the last byte can be checked on the same descriptor.
  const fd = openSync(path, 'a+');
  try {
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size === 0) prefix = `${expected}\n`;
    else {
      const existing = readHeader(path);
      if (existing !== expected) {
        throw new ResultsFileError(
          `${path} has the columns "${existing}" but this council needs "${expected}"; point paths.results at a new file for this council`,
        );
      }
      if (!endsWithNewline(fd, size)) prefix = '\n';
    }
    try {
      writeAll(fd, Buffer.from(`${prefix}${formatRow(row, agents)}\n`, 'utf8'));
      fsyncSync(fd);
    } catch (error) {
      // A disk that filled up mid-row: cut the torn row off, so the file holds whole rows only, and say so.
      ftruncateSync(fd, size);
      throw new ResultsFileError(`${path}: the row of ${row.experimentId} could not be written (${(error as Error).message}); nothing was appended`);
    }
  } finally {
    closeSync(fd);
  }
  fsyncDirectory(dirname(path));
}

function readHeader(path: string): string {
  const text = readFileSync(path, 'utf8');
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

function endsWithNewline(fd: number, size: number): boolean {
  const buf = Buffer.alloc(1);
  readSync(fd, buf, 0, 1, size - 1);
  return buf[0] === 0x0a;
}

/**
 * A round-1 file lacks the trailing `holdout` and `proposer` columns: every whole row gains two empty cells.
 * A torn or corrupt line is kept as it was, so the reader still reports it by its line number.
 */
export function upgradeLegacyHeader(path: string, agents: readonly string[]): boolean {
  if (!existsSync(path)) return false;
  const legacy = legacyHeader(agents);
  if (readHeader(path) !== legacy.join('\t')) return false;
  const added = header(agents).length - legacy.length;
  const lines = readFileSync(path, 'utf8').split('\n');
  const upgraded = lines.map((line, i) => {
    if (i === 0) return header(agents).join('\t');
    return line.split('\t').length === legacy.length ? `${line}${'\t'.repeat(added)}` : line;
  });
  writeFileAtomic(path, upgraded.join('\n'));
  return true;
}

/**
 * Refuses, before anything runs, a results.tsv whose agent columns are not this council's: otherwise a night
 * would train and evaluate, then fail at its first append. A missing or empty file is fine (it gets the header).
 */
export function checkResultsColumns(path: string, agents: readonly string[]): void {
  if (!existsSync(path) || readFileSync(path, 'utf8').length === 0) return;
  const found = readResults(path).agents;
  if (found.join('\t') !== agents.join('\t')) throw new ResultsFileError(columnsMismatch(path, found, agents));
}

export function columnsMismatch(path: string, found: readonly string[], agents: readonly string[]): string {
  return (
    `${path} has the agent columns ${found.join(', ') || '(none)'} but the council has ${agents.join(', ')}; no row can be ` +
    'appended to it. Point paths.results at a new file for this council, or restore the agents (and their order) it was written with'
  );
}
