import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../project.js';
import { showValue } from './search-space.js';
import type { ParamSpec } from './types.js';

export const PROGRAM_FILE = join(PROJECT_ROOT, 'program.md');
export const RANGES_BEGIN = /<!-- ranges:begin[^>]*-->\n/;
export const RANGES_END = '<!-- ranges:end -->';

/** The ranges table as program.md must show it, generated from a search space (python/search-spaces/). Pure. */
export function rangesTable(specs: readonly ParamSpec[]): string {
  const rows = specs.map((s) => {
    const range =
      s.type === 'agent_weights'
        ? `${showValue(s.min)} – ${showValue(s.max)} each`
        : `${showValue(s.min)} – ${showValue(s.max)}${s.type === 'int' ? ' (integer)' : ''}`;
    return `| ${s.name} | ${range} | ${showValue(s.baseline)} | ${s.description} |`;
  });
  return ['| parameter | range | baseline | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The table between the markers of a program.md text, or null when the markers are missing. */
export function tableInProgram(program: string): string | null {
  const begin = RANGES_BEGIN.exec(program);
  const end = program.indexOf(RANGES_END);
  if (!begin || end < 0) return null;
  return program.slice(begin.index + begin[0].length, end).trim();
}

/**
 * program.md, the Claude planner's instructions. Its ranges table must match the ranges the loop enforces; a
 * drifted copy would have the model propose values that are then rejected, so it is refused at start.
 */
export function loadProgram(specs: readonly ParamSpec[], file = PROGRAM_FILE): string {
  const text = readFileSync(file, 'utf8');
  const table = tableInProgram(text);
  if (table !== rangesTable(specs)) {
    throw new Error(`${file}: the ranges table between the ranges markers does not match python/search-spaces/qwen.json; regenerate it from rangesTable()`);
  }
  return text;
}

/**
 * program.md with its ranges table replaced by the one of the search space in use (the file shows the default,
 * the Qwen table): a mode whose base model has another table is planned with that table's ranges. Pure.
 */
export function withRanges(program: string, specs: readonly ParamSpec[]): string {
  const begin = RANGES_BEGIN.exec(program);
  const end = program.indexOf(RANGES_END);
  if (!begin || end < 0) return program;
  return `${program.slice(0, begin.index + begin[0].length)}${rangesTable(specs)}\n${program.slice(end)}`;
}
