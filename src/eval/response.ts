import { z } from 'zod';

/** A tool call as the server returned it; `arguments` stays the raw JSON text so records keep what was sent. */
export interface ModelToolCall {
  name: string;
  arguments: string;
}

/** The parts of a chat completion that assertions judge. */
export interface ModelResponse {
  content: string;
  toolCalls: ModelToolCall[];
  finishReason: string | null;
  /**
   * Diagnosis only, never scored as a call: tool calls found in the raw text that the server did not return as
   * `tool_calls`. mlx_lm.server strips tool-call text from `content` and drops calls its parser rejects, leaving
   * `finish_reason: "tool_calls"` with no calls; servers without a tool parser leave `<tool_call>` in `content`.
   */
  unparsedToolCalls: ModelToolCall[];
  /** True when the server says it made a tool call but returned none (it failed to parse it). */
  droppedToolCall: boolean;
}

const completionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullable().optional(),
        message: z.looseObject({
          content: z.string().nullable().optional(),
          tool_calls: z
            .array(
              z.looseObject({
                function: z.looseObject({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]) }),
              }),
            )
            .nullable()
            .optional(),
        }),
      }),
    )
    .min(1),
});

/** Reads an OpenAI chat completion body; throws with the zod message when it is not one. */
export function parseCompletion(body: unknown): ModelResponse {
  const parsed = completionSchema.safeParse(body);
  if (!parsed.success) {
    throw new Error(`the server's reply is not a chat completion: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const choice = parsed.data.choices[0]!;
  const content = choice.message.content ?? '';
  const toolCalls = (choice.message.tool_calls ?? []).map((c) => ({
    name: c.function.name,
    arguments: typeof c.function.arguments === 'string' ? c.function.arguments : JSON.stringify(c.function.arguments),
  }));
  const finishReason = choice.finish_reason ?? null;
  return {
    content,
    toolCalls,
    finishReason,
    unparsedToolCalls: toolCalls.length === 0 ? extractToolCalls(content) : [],
    droppedToolCall: toolCalls.length === 0 && finishReason === 'tool_calls',
  };
}

/**
 * Tool calls written as text: the Qwen3 JSON form `<tool_call>{"name":…,"arguments":…}</tool_call>` and the
 * Qwen3.5 XML form `<tool_call><function=name><parameter=p>v</parameter></function></tool_call>`. A block that
 * parses as neither is kept with its raw text as the arguments, so the record shows what the model wrote.
 */
export function extractToolCalls(text: string): ModelToolCall[] {
  const calls: ModelToolCall[] = [];
  for (const match of text.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g)) {
    const body = (match[1] ?? '').trim();
    if (body.length === 0) continue;
    calls.push(parseJsonCall(body) ?? parseXmlCall(body) ?? { name: '', arguments: body });
  }
  return calls;
}

function parseJsonCall(body: string): ModelToolCall | null {
  try {
    const value: unknown = JSON.parse(body);
    if (value && typeof value === 'object' && 'name' in value && typeof value.name === 'string') {
      const args = 'arguments' in value ? value.arguments : {};
      return { name: value.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
    }
  } catch {
    // Not JSON: try the XML form next.
  }
  return null;
}

function parseXmlCall(body: string): ModelToolCall | null {
  const fn = /<function=([^>\s]+)>([\s\S]*?)(?:<\/function>|$)/.exec(body);
  if (!fn) return null;
  const args: Record<string, unknown> = {};
  for (const p of (fn[2] ?? '').matchAll(/<parameter=([^>\s]+)>([\s\S]*?)(?:<\/parameter>|$)/g)) {
    const raw = (p[2] ?? '').trim();
    try {
      args[p[1]!] = JSON.parse(raw);
    } catch {
      args[p[1]!] = raw;
    }
  }
  return { name: fn[1]!, arguments: JSON.stringify(args) };
}
