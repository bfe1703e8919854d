import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { describeIssues } from '../config/issues.js';
import { ConfigError } from '../errors.js';
import { councilFileSchema, toolsFileSchema, type Agent, type Council } from './schema.js';

export type { Agent, Council, Tool } from './schema.js';

/**
 * Reads `<dir>/council.yaml` and each agent's IDENTITY.md and tools.json. Every problem found is reported
 * at once, each naming the file and the field, so a user fixing their own council sees the whole list.
 */
export function loadCouncil(dir: string): Council {
  const root = resolve(dir);
  const file = join(root, 'council.yaml');
  if (!existsSync(file)) {
    throw new ConfigError(`no council at ${root}: ${shown(file)} does not exist; set council.dir in the config`);
  }
  const raw = parseFile(file, (t) => parseYaml(t) as unknown);
  const parsed = councilFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(file, parsed.error, raw);

  const problems: string[] = [];
  const seen = new Map<string, string>();
  const agents: Agent[] = [];
  for (const entry of parsed.data.agents) {
    if (seen.has(entry.id)) problems.push(`${shown(file)}: agents: the id "${entry.id}" appears twice`);
    seen.set(entry.id, entry.id);
    const identityFile = join(root, 'agents', entry.id, 'IDENTITY.md');
    const toolsFile = join(root, 'agents', entry.id, 'tools.json');
    let identity = '';
    if (!existsSync(identityFile)) problems.push(`${shown(identityFile)}: missing (the system prompt of ${entry.id})`);
    else {
      identity = readFileSync(identityFile, 'utf8').trim();
      if (identity.length === 0) problems.push(`${shown(identityFile)}: empty; write ${entry.id}'s system prompt`);
    }
    const tools = loadTools(toolsFile, problems);
    const secrets = privateFacts(identity);
    if (typeof secrets === 'string') problems.push(`${shown(identityFile)}: ${secrets}`);
    agents.push({ ...entry, identity, tools, secrets: typeof secrets === 'string' ? [] : secrets });
  }

  const owners = new Map<string, string>();
  for (const agent of agents) {
    for (const tool of agent.tools) {
      const name = tool.function.name;
      const owner = owners.get(name);
      if (owner !== undefined) {
        problems.push(
          `${shown(join(root, 'agents', agent.id, 'tools.json'))}: tool "${name}" is also ${owner}'s; tool names must be unique across the council`,
        );
      }
      owners.set(name, agent.id);
    }
  }
  if (problems.length > 0) throw new ConfigError(`the council in ${shown(root)} has problems`, problems);
  return { name: parsed.data.name, dir: root, agents };
}

/**
 * The secrets under a `## Private` heading (any level; up to the next heading): each list item is one private
 * fact, and its backticked values are what must never be said; an item without backticks is secret as a whole.
 * Returns a message when the section holds no list item, since an empty marker protects nothing.
 */
export function privateFacts(identity: string): string[] | string {
  const lines = identity.split('\n');
  const start = lines.findIndex((l) => /^\s*#{1,6}\s*private\s*$/i.test(l));
  if (start < 0) return [];
  const facts: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*#{1,6}\s/.test(line)) break;
    const item = /^\s*[-*+]\s+(.+)$/.exec(line);
    if (!item) continue;
    const quoted = [...item[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim()).filter((v) => v.length > 0);
    facts.push(...(quoted.length > 0 ? quoted : [item[1]!.trim()]));
  }
  return facts.length > 0 ? facts : 'the "## Private" section lists no secret; write each as a list item, e.g. "- The vault code is `4471`."';
}

function loadTools(file: string, problems: string[]): Agent['tools'] {
  if (!existsSync(file)) {
    problems.push(`${shown(file)}: missing (the agent's OpenAI function schemas)`);
    return [];
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    problems.push(`${shown(file)}: not valid JSON (${(error as Error).message})`);
    return [];
  }
  const parsed = toolsFileSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...describeIssues(parsed.error.issues, raw).map((line) => `${shown(file)}: ${line}`));
    return [];
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  const names = new Set<string>();
  parsed.data.forEach((tool, i) => {
    const name = tool.function.name;
    if (names.has(name)) problems.push(`${shown(file)}: [${i}].function.name: "${name}" appears twice`);
    names.add(name);
    try {
      ajv.compile(tool.function.parameters);
    } catch (error) {
      problems.push(`${shown(file)}: [${i}].function.parameters (${name}): not a valid JSON Schema: ${(error as Error).message}`);
    }
  });
  return parsed.data;
}

function parseFile(file: string, parse: (text: string) => unknown): unknown {
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${shown(file)} cannot be parsed: ${(error as Error).message.split('\n')[0]}`);
  }
}

function invalid(file: string, error: z.ZodError, raw: unknown): ConfigError {
  return new ConfigError(
    `${shown(file)} is not a valid council file`,
    describeIssues(error.issues, raw).map((line) => `${shown(file)}: ${line}`),
  );
}

/** Relative to the working folder when inside it, so messages stay short. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
