import { SingleBar } from 'cli-progress';
import type { ExperimentProgress } from '../research/executor.js';
import type { ResultRow } from '../research/results-format.js';
import type { IdleEvent } from './idle-model-server.js';

/**
 * What the person watching the demo sees: one line per phase, a bar for training (iterations, loss, ETA) and
 * one for evaluation (cases), and each decision with its reasons. Without a terminal (CI), bars become a few
 * plain progress lines so the log stays readable.
 */
export class DemoDisplay {
  private bar: SingleBar | null = null;
  private barKey = '';
  private lastPlain = -1;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = Boolean(out.isTTY);
  }

  phase(text: string): void {
    this.stopBar();
    this.out.write(`\n▶ ${text}  ${dim(`[${clock(Date.now() - this.started)}]`, this.tty)}\n`);
  }

  note(text: string): void {
    this.stopBar();
    this.out.write(`  ${text}\n`);
  }

  progress(p: ExperimentProgress): void {
    const where = [p.mode, p.machine].filter(Boolean).join(' on ');
    if (p.stage === 'train' && typeof p.detail?.iteration === 'number') {
      const iters = Number(p.detail.iters ?? 0) || 1;
      const loss = typeof p.detail.trainLoss === 'number' ? p.detail.trainLoss.toFixed(3) : '…';
      const eta = typeof p.detail.etaSeconds === 'number' ? `${Math.round(p.detail.etaSeconds)}s` : '…';
      this.update(`train:${p.experimentId}`, `  training ${where}`, p.detail.iteration, iters, `loss ${loss}  ETA ${eta}`);
    } else if (p.stage === 'eval' && typeof p.detail?.done === 'number') {
      this.update(`eval:${p.experimentId}`, `  evaluating${where ? ` ${where}` : ''}`, p.detail.done, Number(p.detail.total ?? 1) || 1, 'cases');
    } else if (p.stage !== this.barKey.split(':')[0]) {
      const label = { queued: 'queued', prepare: 'preparing the data mix', train: 'training', eval: 'evaluating' }[p.stage];
      this.note(`${label}${where ? ` (${where})` : ''}`);
      this.barKey = `${p.stage}:${p.experimentId}`;
    }
  }

  decision(row: ResultRow): void {
    this.stopBar();
    const score = row.score === null ? 'no score' : `overall ${row.score.toFixed(3)}, jailbreak ${row.jailbreak?.toFixed(3)}`;
    const stats = row.wins === null ? '' : `, ${row.wins} wins / ${row.losses} losses, p=${row.p?.toFixed(3)}`;
    this.out.write(`  ⇒ ${row.experimentId}: ${row.result.toUpperCase()} (${row.mode ?? '-'} mode; ${score}${stats})\n`);
    for (const reason of row.reasons) this.out.write(`     · ${reason}\n`);
  }

  /** A start or stop of the Mini's idle model server, with the caller's reason (the GPU lease, or the demo after a keep). */
  idleEvent(event: IdleEvent): void {
    const why = event.reason ? ` [${event.reason}]` : '';
    this.note(`${this.tty ? '◆' : '*'} idle model server ${event.action === 'stop' ? 'stop' : 'start'}: ${event.detail}${why}`);
  }

  /** One answer of the idle server to the demo's fixed question. */
  reply(label: string, question: string | null, text: string): void {
    this.stopBar();
    if (question) this.out.write(`  ? ${question}\n`);
    this.out.write(`  ${label}:\n`);
    for (const line of text.split('\n')) this.out.write(`     │ ${line}\n`);
  }

  close(): void {
    this.stopBar();
  }

  private update(key: string, label: string, value: number, total: number, suffix: string): void {
    if (!this.tty) {
      const tenth = Math.floor((value / total) * 4);
      if (key !== this.barKey || tenth > this.lastPlain) {
        this.out.write(`${label}: ${value}/${total} ${suffix}\n`);
        this.lastPlain = tenth;
        this.barKey = key;
      }
      return;
    }
    if (key !== this.barKey || !this.bar) {
      this.stopBar();
      this.bar = new SingleBar(
        { format: `${label} [{bar}] {value}/{total} {suffix}`, barsize: 24, hideCursor: true, stream: this.out, clearOnComplete: false },
      );
      this.bar.start(total, value, { suffix });
      this.barKey = key;
    } else {
      this.bar.setTotal(total);
      this.bar.update(value, { suffix });
    }
  }

  private stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    this.lastPlain = -1;
  }
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function dim(text: string, tty: boolean): string {
  return tty ? `\x1b[2m${text}\x1b[0m` : text;
}
