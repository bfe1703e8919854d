import type { Redis } from 'ioredis';
import { z } from 'zod';
import { trainingSummarySchema, type ExperimentRequest } from '../src/research/executor.js';

/**
 * One small Redis hash per in-flight experiment: the request, the chosen mode and why, which jobs carry it,
 * and where it stands. Every transition is a compare-and-set on (stage, trainJobId), so the executor (on the
 * planner) and the route processor (on the Mini) can never both move an experiment on.
 */
export type Stage = 'enqueueing' | 'train' | 'eval' | 'done';

const requestSchema = z.strictObject({
  experimentId: z.string(),
  kind: z.enum(['baseline', 'experiment']),
  mode: z.enum(['auto', 'full', 'proxy']),
  commit: z.string(),
  values: z.record(z.string(), z.unknown()),
  championAdapterSha256: z.string().nullable().optional(),
  skipPrepare: z.boolean().optional(),
  trainPyCodeSha256: z.string().optional(),
  proposer: z.enum(['sampler', 'claude', 'hand', 'baseline']).optional(),
});

export const experimentRecordSchema = z.object({
  request: z.string().transform((s, ctx) => {
    const parsed = requestSchema.safeParse(JSON.parse(s));
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: 'stored request is malformed' });
      return z.NEVER;
    }
    return parsed.data as ExperimentRequest;
  }),
  stage: z.enum(['enqueueing', 'train', 'eval', 'done']),
  mode: z.enum(['full', 'proxy']),
  modeReason: z.string(),
  model: z.string(),
  datasetSha256: z.string().optional(),
  trainJobId: z.string().optional(),
  evalJobId: z.string().optional(),
  training: z
    .string()
    .transform((s) => trainingSummarySchema.parse(JSON.parse(s)))
    .optional(),
  adapterSha256: z.string().optional(),
  result: z.string().optional(),
  /** When the planner submitted it: the start of the wait's overall deadline, across planner restarts. */
  submittedAt: z.string().optional(),
  updatedAt: z.string(),
});
export type ExperimentRecord = z.infer<typeof experimentRecordSchema>;

const CAS = `
local n = tonumber(ARGV[#ARGV])
for i = 1, n * 2, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
for i = n * 2 + 1, #ARGV - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
`;

/**
 * Creation in one step: a record is either absent or whole (request, fields, stage, and its place in the pending
 * set). Two steps (HSETNX, then the rest) left a record holding only `request` after a crash in between, which
 * `read` rejects as malformed and `submit` never repairs, so the experiment could never be decided.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

export class ExperimentStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(experimentId: string): string {
    return `${this.prefix}:experiment:${experimentId}`;
  }

  private get pendingKey(): string {
    return `${this.prefix}:experiments:pending`;
  }

  /** Creates the record unless it exists; true when this call created it (submit is idempotent). */
  async create(request: ExperimentRequest, fields: Record<string, string>): Promise<boolean> {
    const record = { ...fields, request: JSON.stringify(request), stage: 'enqueueing', updatedAt: new Date().toISOString() };
    const args = [request.experimentId, ...Object.entries(record).flat()];
    const created = await this.redis.eval(CREATE, 2, this.key(request.experimentId), this.pendingKey, ...args);
    return created === 1;
  }

  async read(experimentId: string): Promise<ExperimentRecord | null> {
    const raw = await this.redis.hgetall(this.key(experimentId));
    if (!raw.request) return null;
    const parsed = experimentRecordSchema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`experiment ${experimentId}: its Redis record is malformed (${parsed.error.issues[0]?.message})`);
    }
    return parsed.data;
  }

  /** Sets `changes` only if every field in `expect` still has the given value; true when it did. */
  async compareAndSet(experimentId: string, expect: Record<string, string>, changes: Record<string, string>): Promise<boolean> {
    const args: string[] = [];
    for (const [k, v] of Object.entries(expect)) args.push(k, v);
    for (const [k, v] of Object.entries({ ...changes, updatedAt: new Date().toISOString() })) args.push(k, v);
    args.push(String(Object.keys(expect).length));
    const done = await this.redis.eval(CAS, 1, this.key(experimentId), ...args);
    return done === 1;
  }

  async pendingIds(): Promise<string[]> {
    return (await this.redis.smembers(this.pendingKey)).sort();
  }

  async forget(experimentId: string): Promise<void> {
    await this.redis.multi().del(this.key(experimentId)).srem(this.pendingKey, experimentId).exec();
  }
}
