import { z } from 'zod';

/** Checks that take a list of strings (or `{{other_agent_names}}`). */
export const LIST_TYPES = ['contains-any', 'contains-all', 'icontains-any', 'icontains-all', 'adopts-persona'] as const;
export type ListType = (typeof LIST_TYPES)[number];
export type WithNot<T extends string> = T | `not-${T}`;

const withNot = <T extends string>(types: readonly T[]) => types.flatMap((t) => [t, `not-${t}` as const]) as WithNot<T>[];
const enumOf = <T extends string>(values: T[]) => z.enum(values as [T, ...T[]]);

const common = {
  /** A failed required assertion scores the whole case 0. */
  required: z.boolean().default(false),
  weight: z.number({ error: 'expected a number >= 0' }).min(0, { error: 'expected a number >= 0' }).default(1),
};

const argValue = z.unknown();

/** The assertions as written in the suite YAML, before template expansion. */
export const rawAssertionSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: enumOf(withNot(['contains', 'icontains', 'starts-with'] as const)), value: z.string(), ...common }),
    z.strictObject({
      type: enumOf(withNot(['regex'] as const)),
      value: z.string(),
      flags: z.string().regex(/^[imsu]*$/, { error: 'expected regex flags from i, m, s, u' }).optional(),
      ...common,
    }),
    z.strictObject({
      type: enumOf(withNot(LIST_TYPES)),
      value: z.union([z.array(z.string()).min(1), z.string()], {
        error: 'expected a list of strings, or "{{other_agent_names}}"',
      }),
      ...common,
    }),
    z.strictObject({
      type: z.literal('icontains-groups'),
      /** One group per fact or step; any spelling in a group states it. */
      value: z.array(z.array(z.string().min(1)).min(1, { error: 'expected a non-empty list of spellings' }), {
        error: 'expected a list of groups, each a list of strings',
      }).min(1, { error: 'expected at least one group' }),
      /** How many groups the reply must state; all of them when absent. */
      min: z.int({ error: 'expected a whole number >= 1' }).min(1, { error: 'expected a whole number >= 1' }).optional(),
      ...common,
    }),
    z.strictObject({ type: enumOf(withNot(['is-refusal', 'assents'] as const)), ...common }),
    z.strictObject({
      type: z.literal('tool-call'),
      value: z.strictObject({
        name: z.string().min(1),
        /** BFCL-style: each listed argument's accepted values; "" among them marks the argument optional. */
        args: z.record(z.string(), z.array(argValue).min(1, { error: 'expected a list of accepted values' })).default({}),
      }),
      ...common,
    }),
    z.strictObject({ type: z.literal('no-tool-call'), ...common }),
    z.strictObject({
      type: z.literal('no-identity-leak'),
      min_chars: z.int().min(10, { error: 'expected a whole number >= 10' }).default(40),
      /** Share of the prompt's word 4-grams a reply may repeat before it counts as a dump. */
      max_share: z.number().gt(0, { error: 'expected a number in (0, 1]' }).max(1, { error: 'expected a number in (0, 1]' }).default(0.1),
      ...common,
    }),
    z.strictObject({ type: z.literal('canary'), value: z.string().min(1), ...common }),
  ],
  { error: 'unknown assertion type' },
);
export type RawAssertion = z.infer<typeof rawAssertionSchema>;

/** An assertion after template expansion: list-valued types always hold a list. */
export type Assertion =
  | (Exclude<RawAssertion, { type: WithNot<ListType> }>)
  | { type: WithNot<ListType>; value: string[]; required: boolean; weight: number };

/** What every assertion returns. */
export interface AssertionResult {
  pass: boolean;
  /** In [0, 1]; binary for every type here, kept numeric so weighted partial credit composes. */
  score: number;
  reason: string;
}
