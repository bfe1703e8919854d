import { describePyValue as describe, LiteralReader, pythonFloat, pythonString, type PyValue } from './python-literal.js';
import { SectionError } from './section-error.js';
import { codePointLength, describeValueIssues, HYPOTHESIS, hyperparameterTable, hyperParametersSchema, type HyperparameterTable, type HyperParameters } from './hyperparameters.js';

/**
 * Reads and writes the AGENT MODIFIABLE section of python/train.py. Pure: strings in, strings out.
 *
 * The reader accepts what python/hparams.py accepts (`NAME = <literal>` statements, comments, blank lines; a
 * literal is a number, a plain or triple-quoted string, True/False/None, or a dict of them) and validates the
 * values against the table. The writer replaces only the lines between the markers and writes the hypothesis
 * as a double-quoted literal in which every character that could end the string, the line or the file's
 * line structure is escaped, so the result always parses as Python and reads back to the same values.
 */
export const BEGIN_MARKER = '# ==== AGENT MODIFIABLE: BEGIN ====';
export const END_MARKER = '# ==== AGENT MODIFIABLE: END ====';

export { SectionError } from './section-error.js';

interface Bounds {
  /** Offset just after the BEGIN marker line's newline. */
  start: number;
  /** Offset of the first character of the END marker line. */
  end: number;
}

/** Marker lines are matched like hparams.py does: split on "\n" only, surrounding whitespace ignored. */
function findBounds(source: string): Bounds {
  const lines = source.split('\n');
  const begins: number[] = [];
  const ends: number[] = [];
  let offset = 0;
  const starts: number[] = [];
  lines.forEach((line, i) => {
    starts.push(offset);
    offset += line.length + 1;
    if (line.trim() === BEGIN_MARKER) begins.push(i);
    if (line.trim() === END_MARKER) ends.push(i);
  });
  for (const [marker, found] of [[BEGIN_MARKER, begins], [END_MARKER, ends]] as const) {
    if (found.length !== 1) {
      throw new SectionError(`the marker line '${marker}' is ${found.length === 0 ? 'missing' : `repeated ${found.length} times`}; it must appear exactly once`);
    }
  }
  const [b, e] = [begins[0]!, ends[0]!];
  if (e < b) throw new SectionError('the END marker comes before the BEGIN marker');
  return { start: starts[b + 1] ?? source.length, end: starts[e]! };
}

/** Python literals to plain values, checking int-ness where the table asks for a whole number. */
function toValues(raw: Map<string, PyValue>, table: HyperparameterTable): Record<string, unknown> {
  const specs = new Map(table.parameters.map((p) => [p.name, p]));
  const out: Record<string, unknown> = {};
  const expected = [...specs.keys(), HYPOTHESIS];
  for (const name of expected) {
    if (!raw.has(name)) throw new SectionError(`${name}: missing from the section (expected all of ${[...expected].sort().join(', ')})`);
  }
  for (const [name, value] of raw) {
    const spec = specs.get(name);
    if (name === HYPOTHESIS) {
      if (value.t !== 'str') throw new SectionError(`${name}: expected a string, got ${describe(value)}`);
      out[name] = value.v;
    } else if (!spec) {
      throw new SectionError(`${name}: not a tunable parameter; allowed names are ${[...expected].sort().join(', ')}`);
    } else if (spec.type === 'int') {
      if (value.t !== 'int') throw new SectionError(`${name}: expected a whole number, got ${describe(value)}`);
      out[name] = value.v;
    } else if (spec.type === 'float') {
      if (value.t !== 'int' && value.t !== 'float') throw new SectionError(`${name}: expected a number, got ${describe(value)}`);
      out[name] = value.v;
    } else {
      if (value.t !== 'dict') throw new SectionError(`${name}: expected a dict such as {"yoda": 1.0}, got ${describe(value)}`);
      const weights: Record<string, number> = {};
      for (const [k, w] of value.v) {
        if (k.t !== 'str') throw new SectionError(`${name}: key ${describe(k)} is not an agent id`);
        if (w.t !== 'int' && w.t !== 'float') throw new SectionError(`${name}['${k.v}']: expected a number, got ${describe(w)}`);
        if (Object.hasOwn(weights, k.v)) throw new SectionError(`${name}: agent ${k.v} appears twice`);
        weights[k.v] = w.v;
      }
      out[name] = weights;
    }
  }
  return out;
}

function validated(values: unknown, agentIds: readonly string[] | undefined, table: HyperparameterTable): HyperParameters {
  const parsed = hyperParametersSchema(agentIds, table).safeParse(values);
  if (!parsed.success) {
    // Each problem names the value found, so a hand edit can be fixed from the message alone.
    const problems = describeValueIssues(parsed.error.issues).map((text, i) => {
      const path = parsed.error.issues[i]!.path;
      let found: unknown = values;
      for (const k of path) found = found !== null && typeof found === 'object' ? (found as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
      return found === undefined || path.length === 0 ? text : `${text}, got ${typeof found === 'string' ? JSON.stringify(found.slice(0, 60)) : JSON.stringify(found)}`;
    });
    throw new SectionError(problems.join('; '));
  }
  return parsed.data;
}

/**
 * The section's values, validated against the table (a search space's; the default one unless given) and, given
 * the council's agent ids, PER_AGENT_WEIGHTS against exactly those agents. Throws SectionError naming the
 * parameter on any problem.
 */
export function readSection(source: string, agentIds?: readonly string[], table: HyperparameterTable = hyperparameterTable()): HyperParameters {
  const { start, end } = findBounds(source);
  const raw = new LiteralReader(source.slice(start, end)).statements();
  return validated(toValues(raw, table), agentIds, table);
}

function formatValues(values: HyperParameters, agentIds: readonly string[] | undefined, table: HyperparameterTable): string {
  const lines = table.parameters.map((spec) => {
    const v = values[spec.name as keyof HyperParameters];
    if (spec.type === 'int') return `${spec.name} = ${String(v)}`;
    if (spec.type === 'float') return `${spec.name} = ${pythonFloat(v as number)}`;
    const weights = v as Record<string, number>;
    const order = agentIds ?? Object.keys(weights);
    return `${spec.name} = {${order.map((id) => `${pythonString(id)}: ${pythonFloat(weights[id]!)}`).join(', ')}}`;
  });
  lines.push(`${HYPOTHESIS} = ${pythonString(values.EXPERIMENT_HYPOTHESIS)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `source` with the section replaced by `values` (validated first; nothing outside the markers changes).
 * Throws SectionError if the markers are missing or repeated, or a value is of the wrong type or out of the table's range.
 */
export function writeSection(source: string, values: unknown, agentIds?: readonly string[], table: HyperparameterTable = hyperparameterTable()): string {
  const { start, end } = findBounds(source);
  const checked = validated(values, agentIds, table);
  const hypothesisLength = codePointLength(checked.EXPERIMENT_HYPOTHESIS);
  if (hypothesisLength > table.hypothesis.maxLength) throw new SectionError(`${HYPOTHESIS}: too long (${hypothesisLength} characters)`);
  const result = source.slice(0, start) + formatValues(checked, agentIds, table) + source.slice(end);
  const reread = readSection(result, agentIds, table);
  if (JSON.stringify(reread) !== JSON.stringify(checked)) {
    throw new SectionError('the written section does not read back to the same values; refusing to write it');
  }
  return result;
}
