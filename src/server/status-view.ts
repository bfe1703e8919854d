import type { Busy, Presence } from '../fleet/presence.js';

/** What the dashboard and /api/status say about the fleet. */
export interface MachineView {
  machine: string;
  role: string;
  online: boolean;
  /** Online: when its oldest live worker started. Away: when it was last seen (null if never). */
  since: string | null;
  version: string | null;
  /** Live worker processes on that machine. */
  processes: number;
  busy: Busy | null;
}

export interface QueueView {
  name: string;
  counts: Record<string, number>;
}

export interface RunningJob {
  queue: string;
  jobId: string;
  name: string;
  experimentId: string | null;
  /** As the processor reported it: `{ iteration, iters, ... }` for training, `{ done, total }` for eval. */
  progress: unknown;
  startedAt: string | null;
  attemptsMade: number;
}

export interface StatusView {
  generatedAt: string;
  /** "ok", or why Redis could not be read (the page still shows the results). */
  redis: string;
  machines: MachineView[];
  queues: QueueView[];
  running: RunningJob[];
}

/** One row per machine: live heartbeats grouped by machine, then machines only remembered as last seen. Pure. */
export function machinesFromPresence(presence: Presence): MachineView[] {
  const byMachine = new Map<string, MachineView>();
  for (const beat of presence.live) {
    const seen = byMachine.get(beat.machine);
    if (!seen) {
      byMachine.set(beat.machine, {
        machine: beat.machine,
        role: beat.role,
        online: true,
        since: beat.startedAt,
        version: beat.version,
        processes: 1,
        busy: beat.busy,
      });
      continue;
    }
    seen.processes += 1;
    if (beat.startedAt < (seen.since ?? beat.startedAt)) seen.since = beat.startedAt;
    seen.busy ??= beat.busy;
  }
  for (const [machine, last] of Object.entries(presence.lastSeen)) {
    if (byMachine.has(machine)) continue;
    byMachine.set(machine, { machine, role: last.role, online: false, since: last.at, version: null, processes: 0, busy: null });
  }
  return [...byMachine.values()].sort((a, b) => Number(b.online) - Number(a.online) || a.machine.localeCompare(b.machine));
}

/** A fraction in [0, 1] and a label for the progress shapes the processors report, or null if unknown. Pure. */
export function progressOf(progress: unknown): { fraction: number; label: string } | null {
  if (typeof progress === 'number' && Number.isFinite(progress)) {
    const fraction = Math.min(1, Math.max(0, progress > 1 ? progress / 100 : progress));
    return { fraction, label: `${Math.round(fraction * 100)}%` };
  }
  if (progress === null || typeof progress !== 'object') return null;
  const p = progress as Record<string, unknown>;
  const num = (k: string) => (typeof p[k] === 'number' && Number.isFinite(p[k]) ? (p[k] as number) : null);
  const pairs: Array<[string, string, string]> = [
    ['iteration', 'iters', 'iteration'],
    ['done', 'total', 'cases'],
  ];
  for (const [a, b, what] of pairs) {
    const x = num(a);
    const n = num(b);
    if (x !== null && n !== null && n > 0) {
      const extra = [
        p.stage !== undefined ? String(p.stage) : null,
        num('trainLoss') !== null ? `loss ${num('trainLoss')!.toFixed(3)}` : null,
        num('etaSeconds') !== null ? `ETA ${Math.ceil(num('etaSeconds')! / 60)} min` : null,
      ].filter(Boolean);
      return { fraction: Math.min(1, x / n), label: [`${what} ${x}/${n}`, ...extra].join(' · ') };
    }
  }
  return null;
}
