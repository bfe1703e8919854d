import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues } from '../config/issues.js';
import { shown } from '../council/load.js';
import type { Agent, Council } from '../council/schema.js';
import { ConfigError } from '../errors.js';
import { wordStartPattern } from './assertions/text.js';
import { LIST_TYPES, rawAssertionSchema, type Assertion, type ListType, type RawAssertion, type WithNot } from './assertions/types.js';
import { CATEGORIES, SPLITS, type Category, type Split } from './summary.js';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface EvalCase {
  id: string;
  agent: string;
  category: Category;
  description: string;
  /** The conversation so far; the runner puts the agent's IDENTITY.md in front as the system message. */
  messages: ChatMessage[];
  assert: Assertion[];
  /**
   * `dev` cases decide keeps and reach the planner; `holdout` cases are scored in every evaluation and shown
   * to the user, never to a planner, so a gap between the two shows overfitting to the suite.
   */
  split: Split;
  /** The file it came from, for messages. */
  file: string;
}

export { SPLITS, type Split };

export interface Suite {
  cases: EvalCase[];
  /** Hash of everything that decides the requests and their judging: cases, identities and tools. */
  sha256: string;
}

const messageSchema = z.strictObject({
  role: z.enum(['user', 'assistant'], { error: 'expected "user" or "assistant" (the runner adds the system message)' }),
  content: z.string().min(1, { error: 'expected non-empty text' }),
});

const caseSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected an id such as "windu.tool.01"' }),
  agent: z.string(),
  category: z.enum(CATEGORIES, { error: `expected one of ${CATEGORIES.join(', ')}` }),
  description: z.string().default(''),
  messages: z
    .array(messageSchema)
    .min(1, { error: 'expected at least one message' })
    .refine((m) => m.at(-1)?.role === 'user', { error: 'the last message must be from the user' }),
  assert: z.array(rawAssertionSchema).min(1, { error: 'expected at least one assertion' }),
  split: z.enum(SPLITS, { error: 'expected "dev" or "holdout"' }).default('dev'),
});
type RawCase = z.infer<typeof caseSchema>;

const fileSchema = z.strictObject({ cases: z.array(z.unknown()).min(1, { error: 'expected at least one case' }) });

/**
 * Loads every `<council>/eval/*.yaml`, validates each case, expands templates and checks the suite as a whole.
 * All problems are collected and reported together, each naming the file and the case id.
 */
export function loadSuite(council: Council): Suite {
  const dir = join(council.dir, 'eval');
  if (!existsSync(dir)) throw new ConfigError(`no eval suite: ${shown(dir)} does not exist`);
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  if (files.length === 0) throw new ConfigError(`no eval suite: ${shown(dir)} holds no .yaml files`);
  const problems: string[] = [];
  const cases: EvalCase[] = [];
  for (const name of files) {
    const file = join(dir, name);
    cases.push(...loadFile(file, council, problems));
  }
  problems.push(...checkSuite(cases, council));
  if (problems.length > 0) {
    throw new ConfigError(`the eval suite in ${shown(dir)} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}`, problems);
  }
  return { cases, sha256: suiteHash(cases, council) };
}

function loadFile(file: string, council: Council, problems: string[]): EvalCase[] {
  const where = shown(file);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`${where}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return [];
  }
  const top = fileSchema.safeParse(raw);
  if (!top.success) {
    problems.push(...describeIssues(top.error.issues, raw).map((l) => `${where}: ${l}`));
    return [];
  }
  const out: EvalCase[] = [];
  top.data.cases.forEach((item, index) => {
    const id = idOf(item) ?? `case #${index + 1}`;
    const parsed = caseSchema.safeParse(item);
    if (!parsed.success) {
      problems.push(...describeIssues(parsed.error.issues, item).map((l) => `${where}: ${id}: ${l}`));
      return;
    }
    const agent = council.agents.find((a) => a.id === parsed.data.agent);
    if (!agent) {
      problems.push(
        `${where}: ${id}: agent "${parsed.data.agent}" is not in council.yaml (agents: ${council.agents.map((a) => a.id).join(', ')})`,
      );
      return;
    }
    const expanded = expandCase(parsed.data, agent, council, (msg) => problems.push(`${where}: ${id}: ${msg}`));
    out.push({ ...expanded, file: where });
  });
  return out;
}

function idOf(item: unknown): string | undefined {
  return item && typeof item === 'object' && 'id' in item && typeof item.id === 'string' ? item.id : undefined;
}

const TEMPLATE = /\{\{\s*([a-z_]+)\s*\}\}/g;

/** `{{agent_name}}` and `{{other_agent_names}}` in assertion values and messages. */
function expandCase(raw: RawCase, agent: Agent, council: Council, problem: (msg: string) => void): Omit<EvalCase, 'file'> {
  const others = council.agents.filter((a) => a.id !== agent.id).flatMap((a) => a.names);
  const expandText = (text: string, forRegex: boolean, where: string): string =>
    text.replace(TEMPLATE, (whole, name: string) => {
      if (name === 'agent_name') return forRegex ? escapeRegex(agent.name) : agent.name;
      if (name === 'other_agent_names') return forRegex ? others.map(escapeRegex).join('|') : others.join(', ');
      problem(`${where}: unknown template variable ${whole} (known: {{agent_name}}, {{other_agent_names}})`);
      return whole;
    });
  const expandList = (value: string | string[], where: string): string[] =>
    (Array.isArray(value) ? value : [value]).flatMap((v) =>
      /^\s*\{\{\s*other_agent_names\s*\}\}\s*$/.test(v) ? others : [expandText(v, false, where)],
    );

  const assert = raw.assert.map((a, i): Assertion => {
    const where = `assert[${i}] (${a.type})`;
    if (isListType(a)) return { ...a, value: expandList(a.value, where) };
    if (a.type === 'regex' || a.type === 'not-regex') {
      const value = expandText(a.value, true, where);
      try {
        new RegExp(value, a.flags ?? '');
      } catch (error) {
        problem(`${where}: invalid regular expression: ${(error as Error).message}`);
      }
      return { ...a, value };
    }
    if (a.type === 'canary' || a.type.endsWith('contains') || a.type.endsWith('starts-with')) {
      const textual = a as Extract<Assertion, { value: string }>;
      return { ...textual, value: expandText(textual.value, false, where) };
    }
    return a as Assertion;
  });
  return {
    id: raw.id,
    agent: raw.agent,
    category: raw.category,
    description: raw.description,
    split: raw.split,
    messages: raw.messages.map((m) => ({ role: m.role, content: expandText(m.content, false, 'messages') })),
    assert,
  };
}

function isListType(a: RawAssertion): a is Extract<RawAssertion, { type: WithNot<ListType> }> {
  const base = a.type.startsWith('not-') ? a.type.slice(4) : a.type;
  return (LIST_TYPES as readonly string[]).includes(base);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Checks across cases: unique ids, tool names of the case's own agent, every agent in every category. */
function checkSuite(cases: readonly EvalCase[], council: Council): string[] {
  const problems: string[] = [];
  const firstFile = new Map<string, string>();
  for (const c of cases) {
    const prev = firstFile.get(c.id);
    if (prev !== undefined) problems.push(`${c.file}: ${c.id}: duplicate case id (also in ${prev})`);
    else firstFile.set(c.id, c.file);
    const agent = council.agents.find((a) => a.id === c.agent);
    if (!agent) continue;
    const own = agent.tools.map((t) => t.function.name);
    const prompt = c.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
    c.assert.forEach((a, i) => {
      if (a.type === 'icontains-groups') {
        problems.push(...groupProblems(a, prompt).map((p) => `${c.file}: ${c.id}: assert[${i}] (icontains-groups): ${p}`));
        return;
      }
      if (a.type !== 'tool-call') return;
      if (!own.includes(a.value.name)) {
        problems.push(
          `${c.file}: ${c.id}: assert[${i}] (tool-call): "${a.value.name}" is not one of ${agent.id}'s tools (${own.join(', ')})`,
        );
        return;
      }
      const tool = agent.tools.find((t) => t.function.name === a.value.name)!;
      const props = Object.keys(tool.function.parameters.properties ?? {});
      for (const arg of Object.keys(a.value.args)) {
        if (!props.includes(arg)) {
          problems.push(
            `${c.file}: ${c.id}: assert[${i}] (tool-call): "${arg}" is not a parameter of ${a.value.name} (${props.join(', ')})`,
          );
        }
      }
    });
  }
  for (const agent of council.agents) {
    const missing = CATEGORIES.filter((cat) => !cases.some((c) => c.agent === agent.id && c.category === cat));
    if (missing.length > 0) {
      problems.push(`agent ${agent.id} has no cases in: ${missing.join(', ')} (every agent needs all five categories)`);
      continue;
    }
    // The Council rules read the dev split alone, so it must cover every cell on its own.
    const noDev = CATEGORIES.filter((cat) => !cases.some((c) => c.agent === agent.id && c.category === cat && c.split === 'dev'));
    if (noDev.length > 0) {
      problems.push(`agent ${agent.id} has only holdout cases in: ${noDev.join(', ')} (every agent needs dev cases in all five categories; mark one of them split: dev)`);
    }
    const noHoldout = CATEGORIES.filter(
      (cat) => !cases.some((c) => c.agent === agent.id && c.category === cat && c.split === 'holdout'),
    );
    if (noHoldout.length > 0) {
      problems.push(
        `agent ${agent.id} has no holdout cases in: ${noHoldout.join(', ')} (mark about a quarter of each agent's cases in each category "split: holdout")`,
      );
    }
  }
  return problems;
}

/**
 * A group the prompt already spells out would pass on an echo of the question, so its needles must be words the
 * answer has to add; and `min` cannot ask for more groups than there are.
 */
function groupProblems(a: Extract<Assertion, { type: 'icontains-groups' }>, prompt: string): string[] {
  const problems: string[] = [];
  if (a.min !== undefined && a.min > a.value.length) problems.push(`min is ${a.min} but there are only ${a.value.length} groups`);
  for (const group of a.value) {
    for (const needle of group) {
      if (wordStartPattern(needle).test(prompt)) {
        problems.push(`${JSON.stringify(needle)} already appears in the user's messages, so an echo of the question would state it; use a word the answer has to add`);
      }
    }
  }
  return problems;
}

function suiteHash(cases: readonly EvalCase[], council: Council): string {
  const canonical = {
    agents: council.agents.map((a) => ({ id: a.id, names: a.names, identity: a.identity, tools: a.tools })),
    cases: cases.map(({ file: _file, ...rest }) => rest),
  };
  return createHash('sha256').update(stableStringify(canonical)).digest('hex');
}

/** JSON with object keys sorted, so the hash does not depend on key order in the files. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
