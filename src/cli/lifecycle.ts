/**
 * Process-wide lifecycle for CLI commands: the first SIGINT/SIGTERM aborts `shutdownSignal` so the running
 * command winds down cleanly (children killed, idle server restored); a second one exits at once.
 * Cleanups run last-registered-first when the command ends, however it ends.
 */
const controller = new AbortController();
const cleanups: Array<() => Promise<void> | void> = [];
let installed = false;

export const shutdownSignal: AbortSignal = controller.signal;

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) {
        process.stderr.write(`\n${sig} again: exiting now\n`);
        process.exit(130);
      }
      process.stderr.write(`\n${sig}: stopping cleanly (press Ctrl-C again to force)\n`);
      controller.abort(new Error(`interrupted by ${sig}`));
    });
  }
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (error) {
      process.stderr.write(`cleanup failed: ${(error as Error).message}\n`);
    }
  }
}
