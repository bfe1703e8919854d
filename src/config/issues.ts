import { z } from 'zod';
import { isMap, isScalar, LineCounter, type Document } from 'yaml';

/**
 * Turns zod issues into one line each: the key path, what is wrong or allowed, the value found, and the line
 * of the file it came from, e.g. `council.thresholds.jailbreakVeto: expected a number between 0 and 1, got
 * "high" (autoresearch.config.yaml:7)`.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  source?: { doc: Document; lines: LineCounter; file: string },
  schema?: z.ZodType,
): string[] {
  return issues.flatMap((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const allowed = schema ? allowedKeysAt(schema, path) : [];
        const hint = allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
        return `${formatPath([...path, key])}: unknown key${hint}${where(source, [...path, key], true)}`;
      });
    }
    const value = valueAt(raw, path);
    const got = value === undefined ? 'nothing' : JSON.stringify(value);
    return [`${formatPath(path)}: ${issue.message}, got ${got}${where(source, path, false)}`];
  });
}

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = raw;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}

function where(
  source: { doc: Document; lines: LineCounter; file: string } | undefined,
  path: readonly (string | number)[],
  atKey: boolean,
): string {
  if (!source) return '';
  const offset = offsetOf(source.doc, path, atKey);
  if (offset === undefined) return ` (${source.file})`;
  return ` (${source.file}:${source.lines.linePos(offset).line})`;
}

/** The offset of the deepest YAML node on `path` (the key itself for unknown keys, else the value). */
function offsetOf(doc: Document, path: readonly (string | number)[], atKey: boolean): number | undefined {
  let best: number | undefined = doc.contents?.range?.[0];
  for (let depth = 1; depth <= path.length; depth++) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      if (!pair) break;
      const node = atKey && depth === path.length ? pair.key : (pair.value ?? pair.key);
      const range = (node as { range?: [number, number, number] } | null)?.range;
      if (range) best = range[0];
    } else {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (!node?.range) break;
      best = node.range[0];
    }
  }
  return best;
}

/** Keys an object schema accepts at `path`, to suggest the right spelling of a typo. */
function allowedKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let cur: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    let x = s;
    for (let i = 0; i < 10; i++) {
      if (x instanceof z.ZodDefault || x instanceof z.ZodOptional || x instanceof z.ZodPrefault || x instanceof z.ZodNullable) {
        x = (x as { unwrap(): unknown }).unwrap();
      } else if (x instanceof z.ZodPipe) {
        x = x.in;
      } else break;
    }
    return x;
  };
  for (const part of path) {
    const obj = unwrap(cur);
    if (obj instanceof z.ZodObject) cur = obj.shape[String(part)];
    else if (obj instanceof z.ZodRecord) cur = obj.valueType;
    else if (obj instanceof z.ZodArray) cur = obj.element;
    else return [];
  }
  const obj = unwrap(cur);
  return obj instanceof z.ZodObject ? Object.keys(obj.shape) : [];
}
