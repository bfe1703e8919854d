import { execa } from 'execa';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * How the installer runs launchctl, systemctl and brew: argument vectors only. Injected, because launchctl
 * cannot exist off macOS; tests pass a double that records argv and answers like the real tool.
 */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<RunResult>;

export const execaRunner: CommandRunner = async (file, args) => {
  const result = await execa(file, [...args], { reject: false, timeout: 60_000, stdin: 'ignore' });
  if ((result as { code?: string }).code === 'ENOENT') {
    return { exitCode: 127, stdout: '', stderr: `${file}: command not found` };
  }
  return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
};
