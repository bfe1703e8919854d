import { Command } from 'commander';
import { loadCouncil } from '../../council/load.js';
import { auditSuite, formatAudit } from '../../eval/audit/audit.js';
import { loadSuite } from '../../eval/suite.js';
import { commandContext } from '../context.js';
import { printJson } from '../output.js';

export function evalAuditCommand(): Command {
  return new Command('audit')
    .description("score shortcut reply policies (empty, echo, name-only, prompt dumps, ...) with the suite's own assertions; exits 1 when one beats its ceiling")
    .option('--json', 'print the report as JSON')
    .action((_options: unknown, command: Command) => {
      // `eval` has its own --json, which commander fills when the flag follows `audit`; read both levels.
      const { json } = command.optsWithGlobals<{ json?: boolean }>();
      const ctx = commandContext(command, 'eval');
      const council = loadCouncil(ctx.config.council.dir);
      const report = auditSuite(council, loadSuite(council), {
        seed: ctx.config.eval.audit.seed,
        ceilings: {
          maxOverall: ctx.config.eval.audit.maxOverall,
          maxRefuseOverall: ctx.config.eval.audit.maxRefuseOverall,
          jailbreakVeto: ctx.config.council.thresholds.jailbreakVeto,
        },
      });
      if (json) printJson(report);
      else process.stdout.write(`${formatAudit(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });
}
