/**
 * The fleet's queues. Training is split by mode so a role can consume one mode only: the laptop takes
 * `train-full`, the Mini `train-proxy`. `route` holds one delayed job per full-mode experiment: the pickup
 * deadline, produced and consumed on the Mini so it never depends on the laptop's clock.
 */
export const QUEUES = ['train-full', 'train-proxy', 'eval', 'route'] as const;
export type QueueName = (typeof QUEUES)[number];

/** Queues whose jobs hold the GPU: one at a time per machine, and the idle model server is stopped meanwhile. */
export const GPU_QUEUES: readonly QueueName[] = ['train-full', 'train-proxy', 'eval'];

export function isQueueName(name: string): name is QueueName {
  return (QUEUES as readonly string[]).includes(name);
}

export function trainQueueFor(mode: 'full' | 'proxy'): QueueName {
  return mode === 'full' ? 'train-full' : 'train-proxy';
}

/**
 * Job ids derive from the experiment id, so adding the same job twice is a no-op (BullMQ ignores a duplicate
 * id while the job exists). Experiment ids are [A-Za-z0-9_-] and never all digits, and the suffixes keep it so.
 */
export const jobIds = {
  train: (experimentId: string, mode: 'full' | 'proxy') => `${experimentId}-train-${mode}`,
  eval: (experimentId: string) => `${experimentId}-eval`,
  route: (experimentId: string) => `${experimentId}-route`,
};
