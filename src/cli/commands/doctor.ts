import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { checkGit, checkNode, checkPython, checkRedis, type CheckResult } from '../../doctor/checks.js';
import { color, formatTable, printJson } from '../output.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check Node, the Python venv and MLX, Redis, the config and git; print a fix for every failure')
    .option('--json', 'print the checks as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows: CheckResult[] = [checkNode()];
      rows.push(...(await checkPython()));
      const { config: file } = command.optsWithGlobals<{ config?: string }>();
      try {
        const config = loadConfig({ file });
        rows.push({ check: 'config', ok: true, detail: config.source ?? 'no autoresearch.config.yaml: defaults apply' });
        rows.push(...(await checkRedis(config)));
        rows.push(await checkGit(config));
      } catch (error) {
        rows.push({ check: 'config', ok: false, detail: (error as Error).message, fix: 'run `autoresearch config check` and fix the lines it names' });
      }
      if (options.json) {
        printJson(rows);
      } else {
        const table = formatTable(
          ['check', 'status', 'detail', 'fix'],
          rows.map((r) => [r.check, r.ok ? color.green('ok') : color.red('FAIL'), r.detail.split('\n')[0] ?? '', r.fix ?? '']),
        );
        process.stdout.write(`${table}\n`);
      }
      if (rows.some((r) => !r.ok)) process.exitCode = 1;
    });
}
