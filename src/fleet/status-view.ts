import type { Heartbeat, Presence } from './presence.js';
import { describeShare, type NightTimeline } from './timeline.js';

/** What `autoresearch status` shows, computed from presence and queue counts with no I/O, so it is unit-tested. */
export interface MachineView {
  machine: string;
  role: string;
  state: 'online' | 'away';
  /** Online: since the worker started; away: since its last heartbeat. */
  since: string;
  version: string | null;
  job: { queue: string; jobId: string; experimentId: string; since: string; progress: Record<string, unknown> | null } | null;
}

export interface QueueView {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** Each machine's share of the night so far, from the job records (src/fleet/timeline.ts). */
export interface NightView {
  since: string;
  machines: Array<{ machine: string; busyShare: number; trainingShare: number; evaluationShare: number; summary: string }>;
}

export interface StatusView {
  at: string;
  machines: MachineView[];
  queues: QueueView[];
  night?: NightView;
}

export function nightView(timeline: NightTimeline): NightView {
  const night = timeline.end - timeline.start;
  const share = (ms: number) => (night > 0 ? ms / night : 0);
  return {
    since: new Date(timeline.start).toISOString(),
    machines: timeline.lanes.map((l) => ({
      machine: l.machine,
      busyShare: l.busyShare,
      trainingShare: share(l.trainingMs),
      evaluationShare: share(l.evaluationMs),
      summary: describeShare(l, night),
    })),
  };
}

export function buildStatus(presence: Presence, queues: QueueView[], now: Date, timeline?: NightTimeline): StatusView {
  const byMachine = new Map<string, Heartbeat[]>();
  for (const h of presence.live) byMachine.set(h.machine, [...(byMachine.get(h.machine) ?? []), h]);
  const machines: MachineView[] = [];
  for (const [machine, beats] of byMachine) {
    const busy = beats.find((b) => b.busy) ?? beats[0]!;
    machines.push({
      machine,
      role: [...new Set(beats.map((b) => b.role))].join('+'),
      state: 'online',
      since: beats.map((b) => b.startedAt).sort()[0]!,
      version: busy.version,
      job: busy.busy,
    });
  }
  for (const [machine, seen] of Object.entries(presence.lastSeen)) {
    if (byMachine.has(machine)) continue;
    machines.push({ machine, role: seen.role, state: 'away', since: seen.at, version: null, job: null });
  }
  machines.sort((a, b) => a.machine.localeCompare(b.machine));
  return { at: now.toISOString(), machines, queues, ...(timeline ? { night: nightView(timeline) } : {}) };
}

export function formatStatus(view: StatusView, table: (header: string[], rows: string[][]) => string): string {
  const now = new Date(view.at);
  const lines: string[] = [`fleet at ${clock(now)}`, ''];
  if (view.machines.length === 0) {
    lines.push('no worker has ever reported: start one with `autoresearch worker --role mini`');
  } else {
    lines.push(
      table(
        ['machine', 'role', 'state', 'job', 'progress'],
        view.machines.map((m) => [
          m.machine,
          m.role,
          m.state === 'online' ? `online for ${duration(now, m.since)}` : `AWAY since ${clock(new Date(m.since))} (${duration(now, m.since)} ago)`,
          m.job ? `${m.job.jobId} (${duration(now, m.job.since)})` : m.state === 'online' ? 'idle' : '-',
          m.job ? describeProgress(m.job.progress) : '',
        ]),
      ),
    );
  }
  lines.push('');
  lines.push(
    table(
      ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed'],
      view.queues.map((q) => [q.queue, String(q.waiting), String(q.active), String(q.delayed), String(q.failed), String(q.completed)]),
    ),
  );
  if (view.night && view.night.machines.length > 0) {
    const since = new Date(view.night.since);
    lines.push('', `tonight since ${clock(since)} (${duration(now, view.night.since)}):`);
    for (const m of view.night.machines) lines.push(`  ${m.machine} ${m.summary}`);
  }
  return lines.join('\n');
}

export function describeProgress(progress: Record<string, unknown> | null): string {
  if (!progress) return 'starting';
  if (progress.stage === 'train') {
    const loss = typeof progress.trainLoss === 'number' ? ` loss ${progress.trainLoss.toFixed(3)}` : '';
    const eta = typeof progress.etaSeconds === 'number' ? ` eta ${seconds(progress.etaSeconds)}` : '';
    return `train ${String(progress.iteration)}/${String(progress.iters)}${loss}${eta}`;
  }
  if (progress.stage === 'eval') return `eval ${String(progress.done)}/${String(progress.total)} cases`;
  return JSON.stringify(progress);
}

function clock(date: Date): string {
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

function duration(now: Date, since: string): string {
  return seconds(Math.max(0, (now.getTime() - new Date(since).getTime()) / 1000));
}

function seconds(total: number): string {
  const s = Math.round(total);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
