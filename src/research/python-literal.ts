import { SectionError } from './section-error.js';

/**
 * The Python literal syntax a section of python/train.py may use, read and written: what python/hparams.py accepts
 * (`NAME = <literal>` statements, comments, blank lines; a literal is a number, a plain or triple-quoted string,
 * True/False/None, or a dict of them), and writers whose output Python reads back exactly.
 */
export type PyValue =
  | { t: 'int'; v: number }
  | { t: 'float'; v: number }
  | { t: 'str'; v: string }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'dict'; v: [PyValue, PyValue][] };

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A recursive-descent reader for the literal subset of Python that a section may hold. */
export class LiteralReader {
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

export function describePyValue(v: PyValue): string {
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
