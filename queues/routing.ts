import type { Mode, RequestedMode } from '../src/research/executor.js';

/** Pure routing decisions, so the rules are table-tested without Redis. */
export interface RouteChoice {
  mode: Mode;
  reason: string;
}

/** A live heartbeat counts if its role consumes the full-mode training queue (the laptop, or an `all` box). */
export function chooseMode(requested: RequestedMode, live: ReadonlyArray<{ machine: string; consumes: readonly string[] }>): RouteChoice {
  if (requested !== 'auto') return { mode: requested, reason: 'requested' };
  const full = live.find((h) => h.consumes.includes('train-full'));
  return full
    ? { mode: 'full', reason: `full-mode worker ${full.machine} is online` }
    : { mode: 'proxy', reason: 'no full-mode worker online' };
}

export type PickupAction = 'reroute' | 'recheck' | 'leave';

/**
 * What the pickup deadline does with the full-mode job in BullMQ state `state` (null or 'unknown': no such job).
 * Waiting jobs are withdrawn; an active one is left to its worker and looked at again later (if the laptop
 * sleeps, the stalled check puts it back in `wait` and the next look withdraws it); finished ones are left.
 */
export function pickupAction(state: string | null): PickupAction {
  switch (state) {
    case 'waiting':
    case 'prioritized':
    case 'delayed':
    case 'wait':
    // Only the route processor ever removes a full job, so a missing one means an earlier attempt withdrew it
    // and stopped before recording the switch: finish that reroute.
    case null:
    case 'unknown':
      return 'reroute';
    case 'active':
    case 'waiting-children':
      return 'recheck';
    default:
      return 'leave';
  }
}

export function pickupReason(deadlineMs: number): string {
  const minutes = deadlineMs / 60_000;
  const shown = minutes >= 1 ? `${Number(minutes.toFixed(1))} min` : `${Math.round(deadlineMs / 1000)} s`;
  return `full job not picked up within ${shown}`;
}
