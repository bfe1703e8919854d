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

export class SectionError extends Error {
  override readonly name = 'SectionError';
  readonly exitCode = 2;
}

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

type PyValue =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'str'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'dict'; v: [PyValue, PyValue][] };

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A recursive-descent reader for the literal subset of Python that a section may hold. */
class LiteralReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  statements(): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    for (;;) {
      this.skipBlankLines();
      if (this.pos >= this.text.length) return out;
      const line = this.lineNumber();
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))?.[0];
      if (!name) throw new SectionError(`section line ${line}: only \`NAME = <literal>\` assignments are allowed in the section`);
      this.pos += name.length;
      this.skipSpaces();
      if (this.text[this.pos] !== '=' || this.text[this.pos + 1] === '=') {
        throw new SectionError(`section line ${line}: only \`NAME = <literal>\` assignments are allowed in the section`);
      }
      this.pos++;
      this.skipSpaces();
      const value = this.value(name, false);
      this.skipSpaces();
      if (this.text[this.pos] === '#') this.skipComment();
      if (this.pos < this.text.length && this.text[this.pos] !== '\n') {
        throw new SectionError(`${name}: the value must be a Python literal, not an expression`);
      }
      if (out.has(name)) throw new SectionError(`${name}: assigned more than once in the section`);
      out.set(name, value);
    }
  }

  private lineNumber(): number {
    return this.text.slice(0, this.pos).split('\n').length;
  }

  private skipSpaces(): void {
    while (this.pos < this.text.length && /[ \t\f]/.test(this.text[this.pos]!)) this.pos++;
  }

  private skipComment(): void {
    while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
  }

  private skipBlankLines(): void {
    for (;;) {
      this.skipSpaces();
      if (this.text[this.pos] === '#') this.skipComment();
      if (this.text[this.pos] === '\n' || this.text[this.pos] === '\r') this.pos++;
      else return;
    }
  }

  /** Inside brackets Python joins lines, so newlines and comments are whitespace there. */
  private skipBracketSpace(): void {
    for (;;) {
      this.skipSpaces();
      const c = this.text[this.pos];
      if (c === '#') this.skipComment();
      else if (c === '\n' || c === '\r') this.pos++;
      else return;
    }
  }

  private value(name: string, inBrackets: boolean): PyValue {
    const rest = this.text.slice(this.pos);
    const notLiteral = () => new SectionError(`${name}: the value must be a Python literal, not an expression`);
    if (rest.startsWith('{')) return this.dict(name);
    const prefixed = /^([A-Za-z]{1,2})(['"])/.exec(rest);
    if (prefixed) {
      if (prefixed[1]!.toLowerCase() !== 'u') throw new SectionError(`${name}: use a plain string literal (no ${prefixed[1]} prefix)`);
      this.pos += prefixed[1]!.length;
      return this.string(name);
    }
    if (rest.startsWith('"') || rest.startsWith("'")) {
      const first = this.string(name);
      const save = this.pos;
      if (inBrackets) this.skipBracketSpace();
      else this.skipSpaces();
      if (/^[uUrRbBfF]?['"]/.test(this.text.slice(this.pos))) throw new SectionError(`${name}: write the string as one literal, not several`);
      this.pos = save;
      return first;
    }
    const keyword = /^(True|False|None)(?![A-Za-z0-9_])/.exec(rest);
    if (keyword) {
      this.pos += keyword[1]!.length;
      return keyword[1] === 'None' ? { t: 'none' } : { t: 'bool', v: keyword[1] === 'True' };
    }
    const digits = String.raw`\d(?:_?\d)*`;
    const exponent = String.raw`(?:[eE][+-]?${digits})?`;
    const num = new RegExp(String.raw`^([+-]?)[ \t]*(${digits}(?:\.(?:${digits})?)?${exponent}|\.${digits}${exponent})(?![A-Za-z0-9_.])`).exec(rest);
    if (num) {
      const body = num[2]!.replace(/_/g, '');
      const isFloat = /[.eE]/.test(body);
      // Python rejects a decimal integer with a leading zero (012) but accepts 0, 00 and 0.5.
      if (!isFloat && /^0+[1-9]/.test(body)) throw notLiteral();
      this.pos += num[0].length;
      const v = Number(`${num[1]}${body}`);
      return isFloat ? { t: 'float', v } : { t: 'int', v };
    }
    throw notLiteral();
  }

  private dict(name: string): PyValue {
    this.pos++;
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipBracketSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return { t: 'dict', v: entries };
      }
      const key = this.value(name, true);
      this.skipBracketSpace();
      if (this.text[this.pos] !== ':') throw new SectionError(`${name}: expected ':' after a dict key`);
      this.pos++;
      this.skipBracketSpace();
      const val = this.value(name, true);
      entries.push([key, val]);
      this.skipBracketSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') throw new SectionError(`${name}: expected ',' or '}' in the dict`);
    }
  }

  private string(name: string): PyValue {
    const quote = this.text[this.pos]!;
    const triple = this.text.startsWith(quote.repeat(3), this.pos);
    const closing = triple ? quote.repeat(3) : quote;
    this.pos += closing.length;
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) throw new SectionError(`${name}: unterminated string literal`);
      if (this.text.startsWith(closing, this.pos)) {
        this.pos += closing.length;
        return { t: 'str', v: out };
      }
      const c = this.text[this.pos]!;
      if (c === '\n' && !triple) throw new SectionError(`${name}: unterminated string literal (a newline inside a one-line string)`);
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      out += this.escape(name);
    }
  }

  private escape(name: string): string {
    const next = this.text[this.pos + 1];
    if (next === undefined) throw new SectionError(`${name}: unterminated string literal`);
    const hex = (len: number) => {
      const digits = this.text.slice(this.pos + 2, this.pos + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(digits)) throw new SectionError(`${name}: a truncated \\${next} escape in the string`);
      this.pos += 2 + len;
      const code = parseInt(digits, 16);
      if (code > 0x10ffff) throw new SectionError(`${name}: \\${next}${digits} is not a valid code point`);
      return String.fromCodePoint(code);
    };
    if (next in SIMPLE_ESCAPES) {
      this.pos += 2;
      return SIMPLE_ESCAPES[next]!;
    }
    if (next === '\n') {
      this.pos += 2;
      return '';
    }
    if (next === 'x') return hex(2);
    if (next === 'u') return hex(4);
    if (next === 'U') return hex(8);
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.pos + 1));
    if (octal) {
      this.pos += 1 + octal[0].length;
      return String.fromCodePoint(parseInt(octal[0], 8));
    }
    if (next === 'N') throw new SectionError(`${name}: \\N{...} escapes are not supported; write the character itself`);
    // Python keeps an unknown escape as written, backslash included.
    this.pos += 1;
    return '\\';
  }
}

function describe(v: PyValue): string {
  switch (v.t) {
    case 'int':
    case 'float':
      return String(v.v);
    case 'str':
      return JSON.stringify(v.v);
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'dict':
      return 'a dict';
  }
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
  if (!parsed.success) throw new SectionError(describeValueIssues(parsed.error.issues).join('; '));
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

/** A float as Python reads it back exactly: JavaScript's shortest round-trip form, with `.0` on whole numbers. */
export function pythonFloat(v: number): string {
  if (!Number.isFinite(v)) throw new SectionError(`${v} cannot be written as a finite Python float`);
  const s = String(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/**
 * A double-quoted Python string literal. Backslash and quote are escaped; so is every control character, every
 * character Python's str.splitlines() treats as a line break, and lone surrogates. Everything else (unicode,
 * emoji, `#`) is written as itself.
 */
export function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const c = s[i]!;
    if (c === '\\') out += '\\\\';
    else if (c === '"') out += '\\"';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += c + s[i + 1]!;
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`;
    else out += c;
  }
  return `${out}"`;
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
