import { randomUUID } from 'node:crypto';

/** A BullMQ prefix no other test uses, so tests never see each other's queues. */
export function uniquePrefix(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
