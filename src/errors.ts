/**
 * Errors that decide the CLI's exit code at the throw site: a `UsageError` or `ConfigError` exits 2, any other
 * error exits 1. Each carries a message written for the person at the terminal: what is wrong and how to fix it.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
  constructor(
    message: string,
    /** One line per problem, each naming the key path, the bad value, what is allowed and the line. */
    readonly problems: string[] = [],
  ) {
    super(problems.length > 0 ? `${message}\n  ${problems.join('\n  ')}` : message);
  }
}

/** A failure that the user can fix in their environment (missing redis-server, no venv, ...). */
export class EnvironmentError extends Error {
  override readonly name = 'EnvironmentError';
  readonly exitCode = 1;
}

export function exitCodeOf(error: unknown): number {
  if (error && typeof error === 'object' && 'exitCode' in error && typeof error.exitCode === 'number') {
    return error.exitCode;
  }
  return 1;
}
