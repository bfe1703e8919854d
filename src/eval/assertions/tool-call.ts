import { Ajv, type ValidateFunction } from 'ajv';
import type { Tool } from '../../council/schema.js';
import type { ModelResponse, ModelToolCall } from '../response.js';
import type { AssertionResult } from './types.js';

export interface ToolContext {
  /** The case's own agent id and tools: a call to any other tool fails. */
  agentId: string;
  tools: readonly Tool[];
  /** Tool name -> owning agent id across the council, to say whose tool a wrong call used. */
  toolOwners: ReadonlyMap<string, string>;
}

export interface ExpectedCall {
  name: string;
  /** Accepted values per argument; "" among them marks the argument optional (BFCL convention). */
  args: Record<string, unknown[]>;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(tool: Tool): ValidateFunction {
  let validate = compiled.get(tool.function.parameters);
  if (!validate) {
    validate = ajv.compile(tool.function.parameters);
    compiled.set(tool.function.parameters, validate);
  }
  return validate;
}

/**
 * The BFCL AST check adapted to this suite: every call must be to one of this agent's tools with arguments valid
 * against its JSON Schema (so an extra argument fails under additionalProperties:false), and one call to the
 * expected tool must carry accepted values for every listed argument. Arguments that are not listed are only
 * schema-checked.
 */
export function checkToolCall(response: ModelResponse, expected: ExpectedCall, ctx: ToolContext): AssertionResult {
  if (response.toolCalls.length === 0) return fail(`no tool call; expected ${expected.name}${diagnosis(response)}`);
  const problems: string[] = [];
  const candidates: Array<{ call: ModelToolCall; args: Record<string, unknown> }> = [];
  for (const call of response.toolCalls) {
    const tool = ctx.tools.find((t) => t.function.name === call.name);
    if (!tool) {
      const owner = ctx.toolOwners.get(call.name);
      return fail(
        `called ${call.name}, which is ${owner ? `${owner}'s tool` : 'no tool of the council'}, not one of ${ctx.agentId}'s (${ctx.tools.map((t) => t.function.name).join(', ')})`,
      );
    }
    const args = parseArguments(call.arguments);
    if (typeof args === 'string') return fail(`${call.name}: ${args}`);
    const validate = validatorFor(tool);
    if (!validate(args)) {
      return fail(`${call.name}: arguments ${call.arguments} fail the schema: ${ajv.errorsText(validate.errors, { dataVar: 'arguments' })}`);
    }
    if (call.name === expected.name) candidates.push({ call, args });
  }
  if (candidates.length === 0) {
    return fail(`called ${response.toolCalls.map((c) => c.name).join(', ')}; expected ${expected.name}`);
  }
  for (const { call, args } of candidates) {
    const mismatch = valueMismatch(args, expected.args);
    if (mismatch === null) return { pass: true, score: 1, reason: `called ${call.name} with ${call.arguments}` };
    problems.push(mismatch);
  }
  return fail(`${expected.name}: ${problems.join('; ')}`);
}

/** No call returned, and none attempted in a form the server dropped or left as text. */
export function checkNoToolCall(response: ModelResponse): AssertionResult {
  if (response.toolCalls.length > 0) return fail(`called ${response.toolCalls.map((c) => `${c.name}(${c.arguments})`).join(', ')}`);
  if (response.droppedToolCall || response.unparsedToolCalls.length > 0) {
    return fail(`attempted a tool call${diagnosis(response)}`);
  }
  return { pass: true, score: 1, reason: 'no tool call' };
}

function diagnosis(response: ModelResponse): string {
  if (response.unparsedToolCalls.length > 0) {
    return ` (the reply holds unparsed tool-call text: ${response.unparsedToolCalls.map((c) => `${c.name || '?'} ${c.arguments}`).join(', ')})`;
  }
  if (response.droppedToolCall) return ' (the server reported a tool call but could not parse it, so dropped it)';
  return '';
}

function parseArguments(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `arguments are not valid JSON: ${text}`;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `arguments are not a JSON object: ${text}`;
  return value as Record<string, unknown>;
}

/** Null when every listed argument is present with an accepted value (or absent and marked optional). */
function valueMismatch(args: Record<string, unknown>, expected: Record<string, unknown[]>): string | null {
  for (const [name, accepted] of Object.entries(expected)) {
    if (!(name in args)) {
      if (accepted.includes('')) continue;
      return `missing argument "${name}" (accepted: ${JSON.stringify(accepted)})`;
    }
    const actual = args[name];
    if (!accepted.some((v) => v !== '' && valuesMatch(actual, v))) {
      return `"${name}" is ${JSON.stringify(actual)}, accepted: ${JSON.stringify(accepted.filter((v) => v !== ''))}`;
    }
  }
  return null;
}

/**
 * BFCL's standardisation: strings compare without case, spaces and the characters , . / - _ * ^, with ' read as ";
 * numbers compare by value (an integer is accepted for a float); lists element-wise; objects key by key.
 */
export function valuesMatch(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'string' && typeof actual === 'string') return standardise(actual) === standardise(expected);
  if (typeof expected === 'number' && typeof actual === 'number') return actual === expected;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return expected.length === actual.length && expected.every((e, i) => valuesMatch(actual[i], e));
  }
  if (isObject(expected) && isObject(actual)) {
    const keys = Object.keys(expected);
    return (
      Object.keys(actual).every((k) => keys.includes(k)) &&
      keys.every((k) => (k in actual ? valuesMatch(actual[k], expected[k]) : false))
    );
  }
  return actual === expected;
}

function standardise(text: string): string {
  return text.replace(/[\s,./\-_*^]/g, '').toLowerCase().replace(/'/g, '"');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function fail(reason: string): AssertionResult {
  return { pass: false, score: 0, reason };
}
