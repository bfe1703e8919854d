import Anthropic, {
  APIConnectionError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
} from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';
import type { Logger } from '../log.js';
import { costUsd, type CostMeter, type Pricing } from './cost.js';
import { contextMessage, proposalTool, TOOL_NAME } from './prompt.js';
import { withRanges } from './program.js';
import { checkProposal, describeChanges, type ValuesValidator } from './proposal.js';
import { PlannerFatalError, type PlanOutcome, type Planner, type PlannerContext, type PlannerUsage } from './types.js';

export interface ClaudePlannerOptions {
  apiKey: string;
  /** The Messages API's base URL; tests point it at a local server. Defaults to the SDK's (ANTHROPIC_BASE_URL). */
  baseURL?: string;
  model: string;
  maxTokens: number;
  timeoutMs: number;
  /** Retries per request on 408/409/429/5xx/529 and timeouts, with the SDK's backoff (honouring retry-after). */
  maxRetries: number;
  /** program.md: the stable, cached part of every request. */
  program: string;
  validate: ValuesValidator;
  pricing: Pricing;
  meter: CostMeter;
  log: Logger;
}

/**
 * The Claude planner: one forced, strict tool call per proposal, checked by our own zod validation (the API
 * does not enforce numeric ranges), with one corrective retry that returns the validation errors as an
 * `is_error` tool result. Error handling by type: the SDK backs off and retries rate limits, overload, server
 * errors and timeouts up to `maxRetries`; past that, planning stops for the night. A rejected key or an
 * unknown model stops the run: no later call can succeed.
 */
export function claudePlanner(options: ClaudePlannerOptions): Planner {
  const client = new Anthropic({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs,
    logLevel: 'off',
  });

  return {
    name: `claude (${options.model})`,
    async propose(context: PlannerContext, signal?: AbortSignal): Promise<PlanOutcome> {
      const spent = await options.meter.spent();
      if (spent >= options.meter.capUsd) {
        return { kind: 'stop', reason: `tonight's planner spend $${spent.toFixed(4)} reached the cap of $${options.meter.capUsd} (planner.maxCostUsdPerNight)`, usage: null };
      }
      const usage: PlannerUsage = { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0, costUsd: 0, requestIds: [] };
      const messages: MessageParam[] = [{ role: 'user', content: contextMessage(context) }];
      let lastInput: unknown = null;
      let hypothesis = '';
      let issues: string[] = [];
      for (let attempt = 1; attempt <= 2; attempt += 1) {
        const params: MessageCreateParamsNonStreaming = {
          model: options.model,
          max_tokens: options.maxTokens,
          system: [{ type: 'text', text: withRanges(options.program, context.specs), cache_control: { type: 'ephemeral' } }],
          tools: [proposalTool(context.specs, context.agents)],
          tool_choice: { type: 'tool', name: TOOL_NAME, disable_parallel_tool_use: true },
          messages,
        };
        let message: Message;
        try {
          const { data, request_id } = await client.messages.create(params, signal ? { signal } : {}).withResponse();
          message = data;
          if (request_id) usage.requestIds.push(request_id);
        } catch (error) {
          const stop = classify(error, options.model, options.maxRetries);
          options.log.warn({ err: (error as Error).message, requestId: (error as APIError).requestID ?? null }, 'planner request failed');
          return { kind: 'stop', reason: stop, usage: usage.requestIds.length > 0 ? usage : null };
        }
        const cost = costUsd(message.usage, options.pricing);
        usage.inputTokens += message.usage.input_tokens;
        usage.outputTokens += message.usage.output_tokens;
        usage.cacheCreationInputTokens += message.usage.cache_creation_input_tokens ?? 0;
        usage.cacheReadInputTokens += message.usage.cache_read_input_tokens ?? 0;
        usage.costUsd += cost;
        const total = await options.meter.add(cost);
        options.log.info(
          { experimentId: context.experimentId, attempt, requestId: usage.requestIds.at(-1), usage: message.usage, costUsd: cost, nightUsd: total },
          'planner call',
        );

        const call = message.content.find((b) => b.type === 'tool_use' && b.name === TOOL_NAME);
        if (!call || call.type !== 'tool_use') {
          issues = [`the reply had no ${TOOL_NAME} call (stop_reason ${message.stop_reason ?? 'null'})`];
          lastInput = message.content;
          messages.push({ role: 'assistant', content: message.content.length > 0 ? message.content : [{ type: 'text', text: '(no answer)' }] });
          messages.push({ role: 'user', content: `Your reply did not call ${TOOL_NAME}. Call it now with a hypothesis and changes.` });
          continue;
        }
        lastInput = call.input;
        const h = (call.input as { hypothesis?: unknown } | null)?.hypothesis;
        hypothesis = typeof h === 'string' ? h : '';
        const checked = checkProposal(call.input, context, options.validate);
        if (checked.ok) {
          options.log.info(
            { experimentId: context.experimentId, changes: describeChanges(context.current, checked.proposal.changes), costUsd: usage.costUsd },
            'planner proposal',
          );
          return { kind: 'proposal', proposal: checked.proposal, usage };
        }
        issues = checked.issues;
        options.log.warn({ experimentId: context.experimentId, attempt, issues }, 'planner proposal rejected');
        messages.push({ role: 'assistant', content: message.content });
        messages.push({
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: call.id,
              is_error: true,
              content: `The proposal was rejected:\n${issues.map((i) => `- ${i}`).join('\n')}\nCall ${TOOL_NAME} again with a corrected proposal.`,
            },
          ],
        });
      }
      return { kind: 'invalid', hypothesis, reasons: issues, raw: lastInput, usage };
    },
  };
}

/** Turns an API failure into a reason to stop planning tonight, or throws when the run itself cannot continue. */
function classify(error: unknown, model: string, maxRetries: number): string {
  if (error instanceof APIUserAbortError) throw error;
  const detail = (e: APIError) => `${e.status ?? ''} ${e.type ?? ''}: ${e.apiMessage ?? e.message}${e.requestID ? ` (request ${e.requestID})` : ''}`.trim();
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    throw new PlannerFatalError(
      `the Anthropic API rejected ANTHROPIC_API_KEY (${detail(error)}); set a valid key, or run the offline planner with planner.kind: offline`,
    );
  }
  if (error instanceof NotFoundError) {
    throw new PlannerFatalError(`the Anthropic API does not know the model "${model}" (${detail(error)}); set planner.model to a current model id`);
  }
  if (error instanceof BadRequestError) {
    throw new PlannerFatalError(`the Anthropic API refused the planner's request (${detail(error)}); this is a bug in the request, please report it`);
  }
  if (error instanceof APIConnectionError) {
    return `the Anthropic API could not be reached after ${maxRetries} retries (${error.message}); planning stops for tonight`;
  }
  if (error instanceof APIError) {
    return `the Anthropic API is unavailable after ${maxRetries} retries (${detail(error)}); planning stops for tonight`;
  }
  throw error;
}
