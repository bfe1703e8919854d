import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildRegistry } from '../../src/proc/child-registry.js';
import { processStartTime } from '../../src/proc/identity.js';
import { PROJECT_ROOT } from '../../src/project.js';
import { BEGIN_MARKER, END_MARKER } from '../../src/research/section.js';
import { until } from '../support/fleet-harness.js';

describe('children a dead worker left behind', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('a train.py whose worker was killed with -9 is stopped, group and all, by the next start; a live worker\'s child is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-orphans-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A trainer with train.py's real section that, like a long training, outlives its parent.
    const source = readFileSync(join(PROJECT_ROOT, 'python', 'train.py'), 'utf8');
    const section = source.slice(source.indexOf(BEGIN_MARKER), source.indexOf(END_MARKER) + END_MARKER.length);
    const trainPy = join(dir, 'sleeper.py');
    // It starts a process of its own, as MLX may (a compiler): the whole group must go.
    writeFileSync(
      trainPy,
      `${section}\nimport os, subprocess, time\nhelper = subprocess.Popen(['sleep', '600'])\n` +
        `open(os.path.join(${JSON.stringify(dir)}, 'helper.pid'), 'w').write(str(helper.pid))\ntime.sleep(600)\n`,
    );
    const parent = execa(process.execPath, ['bin/run-ts.js', 'test/support/orphan-trainer.ts', trainPy, dir], {
      cwd: PROJECT_ROOT,
      reject: false,
      env: { AUTORESEARCH_LOG_LEVEL: 'silent' },
    });
    const children = join(dir, 'children');
    const trainer = await until('the trainer to be written down', async () => {
      const name = existsSync(children) ? readdirSync(children)[0] : undefined;
      return name ? (JSON.parse(readFileSync(join(children, name), 'utf8')) as { child: { pid: number; start: string } }).child : null;
    });
    cleanups.push(() => {
      try {
        process.kill(-trainer.pid, 'SIGKILL');
      } catch {}
    });
    const helperFile = join(dir, 'helper.pid');
    const helper = await until('the trainer\'s own child to start', async () => existsSync(helperFile) && Number(readFileSync(helperFile, 'utf8')));

    // While its worker lives, a restart of another worker on the machine leaves it alone.
    expect(await new ChildRegistry(children).reapOrphans(2_000)).toEqual([]);
    expect(await processStartTime(trainer.pid)).toBe(trainer.start);

    parent.kill('SIGKILL');
    await parent;
    expect(await processStartTime(trainer.pid)).toBe(trainer.start);

    const reaped = await new ChildRegistry(children).reapOrphans(2_000);

    expect(reaped).toEqual([{ kind: 'train.py', pid: trainer.pid, signal: 'SIGTERM' }]);
    expect(await processStartTime(trainer.pid)).toBeNull();
    await until('the trainer\'s own child to be gone', async () => (await processStartTime(helper)) === null, 5_000);
    expect(readdirSync(children)).toEqual([]);
  });

  it('a record whose pid now names another process is dropped without signalling it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoresearch-orphans-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const bystander = execa('sleep', ['60'], { reject: false });
    cleanups.push(() => bystander.kill('SIGKILL'));
    const children = join(dir, 'children');
    mkdirSync(children);
    writeFileSync(
      join(children, `${bystander.pid}.json`),
      JSON.stringify({ kind: 'mlx_lm.server', child: { pid: bystander.pid, start: 'another boot:1' }, owner: { pid: 999_999_999, start: 'gone' }, group: false, since: '2026-01-01T00:00:00.000Z' }),
    );

    expect(await new ChildRegistry(children).reapOrphans(500)).toEqual([]);
    expect(await processStartTime(bystander.pid!)).not.toBeNull();
    expect(readdirSync(children)).toEqual([]);
  });
});
