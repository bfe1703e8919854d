import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { EnvironmentError, UsageError } from '../errors.js';
import { venvPython } from '../project.js';
import { mlxEnv } from './mlx-env.js';

export interface PythonScriptOptions {
  signal?: AbortSignal;
  onStderr?: (line: string) => void;
  python?: string;
}

/**
 * Runs one of python/'s helper scripts (prepare.py, tiny_model.py), which print exactly one JSON line on stdout:
 * `{"event":"result",...}` or `{"event":"error","message"}`. Exit code 2 is the caller's fault (UsageError); any
 * other failure is an EnvironmentError carrying the script's own message.
 */
export async function runPythonScript(script: string, args: readonly string[], options: PythonScriptOptions = {}): Promise<Record<string, unknown>> {
  const child = execa(options.python ?? venvPython(), [script, ...args], {
    env: mlxEnv(),
    extendEnv: false,
    stdin: 'ignore',
    buffer: { stdout: true, stderr: false },
    reject: false,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5_000,
  });
  const stderr: string[] = [];
  const stderrDone = (async () => {
    for await (const line of createInterface({ input: child.stderr! })) {
      stderr.push(line);
      options.onStderr?.(line);
    }
  })();
  const result = await child;
  await stderrDone;
  if (result.isCanceled) throw new EnvironmentError(`${script} was canceled`);
  const lastLine = String(result.stdout ?? '').trim().split('\n').at(-1) ?? '';
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(lastLine) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  if (result.exitCode === 0 && parsed?.event === 'result') return parsed;
  const message = typeof parsed?.message === 'string' ? parsed.message : (stderr.filter((l) => l.trim()).slice(-5).join('\n') || `exit code ${result.exitCode}`);
  if (result.exitCode === 2) throw new UsageError(message);
  throw new EnvironmentError(`${script} failed: ${message}`);
}
