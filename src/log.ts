import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The one root logger. Pretty when a person is watching a terminal, JSON lines otherwise (launchd logs, CI),
 * always on stderr so that stdout stays free for command output such as `--json`.
 */
function createRootLogger(): Logger {
  const level = process.env.AUTORESEARCH_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const pretty = process.stderr.isTTY && process.env.AUTORESEARCH_LOG_FORMAT !== 'json';
  if (pretty) {
    return pino({
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' },
      },
    });
  }
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

export const rootLogger: Logger = createRootLogger();

/** A child logger for one component, e.g. `logger('worker')`; bindings are added to every line. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
