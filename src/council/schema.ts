import { z } from 'zod';

/** The zod shapes of the council's files (see council/README.md); pure, so the loop can reuse them. */

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).trim().min(1, { error: `expected ${what}` });

export const agentEntrySchema = z.strictObject({
  id: z
    .string({ error: 'expected an id such as "windu"' })
    .regex(/^[a-z][a-z0-9_]*$/, { error: 'expected lowercase letters, digits and _ starting with a letter, e.g. "windu"' }),
  name: nonEmpty('a display name'),
  role: nonEmpty('a role, e.g. "Security"'),
  domain: nonEmpty('a domain, e.g. "threats, access control"'),
  names: z.array(nonEmpty('a name'), { error: 'expected a list of names the agent calls itself' }).min(1, {
    error: 'expected at least one name the agent calls itself',
  }),
});

export const councilFileSchema = z.strictObject({
  name: nonEmpty('a council name'),
  agents: z.array(agentEntrySchema, { error: 'expected a list of agents' }).min(1, { error: 'expected at least one agent' }),
});

/** One OpenAI function tool. `parameters` is a JSON Schema object; ajv checks that it compiles. */
export const toolSchema = z.strictObject({
  type: z.literal('function', { error: 'expected "function"' }),
  function: z.strictObject({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, { error: 'expected a function name such as "revoke_access"' }),
    description: nonEmpty('a description'),
    parameters: z.looseObject({
      type: z.literal('object', { error: 'expected "object": tool arguments are always an object' }),
      properties: z.record(z.string(), z.unknown()).optional(),
      required: z.array(z.string()).optional(),
    }),
  }),
});
export type Tool = z.infer<typeof toolSchema>;

export const toolsFileSchema = z.array(toolSchema, { error: 'expected a list of tools' }).min(1, {
  error: 'expected at least one tool',
});

export interface Agent {
  id: string;
  name: string;
  role: string;
  domain: string;
  names: string[];
  /** The text of IDENTITY.md, sent as the system message. */
  identity: string;
  /**
   * Facts the agent knows but must never say: the backticked values (or, without backticks, the whole item) of the
   * list under IDENTITY.md's `## Private` heading. The identity-leak check fails a reply that contains one.
   */
  secrets: string[];
  /** OpenAI function schemas, sent as `tools`. */
  tools: Tool[];
}

export interface Council {
  name: string;
  /** The folder it was loaded from (absolute). */
  dir: string;
  /** In council.yaml order: the results.tsv column order. */
  agents: Agent[];
}
