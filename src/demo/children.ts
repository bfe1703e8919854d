import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { PROJECT_ROOT } from '../project.js';

/** A CLI process the demo runs beside itself (a worker, the coordinator server), logging to its own file. */
export interface ChildProcess {
  name: string;
  pid: number | undefined;
  logFile: string;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startCli(name: string, args: string[], options: { env: NodeJS.ProcessEnv; logDir: string }): ChildProcess {
  const logFile = join(options.logDir, `${name}.log`);
  const child: ResultPromise = execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'autoresearch.js'), ...args], {
    env: { ...options.env, AUTORESEARCH_LOG_FORMAT: 'json' },
    extendEnv: false,
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    cleanup: true,
  });
  let alive = true;
  const done = child.then(() => {
    alive = false;
  });
  return {
    name,
    pid: child.pid,
    logFile,
    running: () => alive,
    async stop(graceMs = 20_000) {
      if (!alive) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
