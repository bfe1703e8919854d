// One process contending for a machine lock, for the GPU lock drills:
// `node bin/run-ts.js test/support/lock-contender.ts <lockFile> <journal> <holdMs> [<goFile>]`.
// Prints "ready" and waits for <goFile> to exist (so several contenders start together), takes the lock, appends "enter <pid>" to
// <journal>, holds it <holdMs> ms (or until killed when holdMs is "forever", printing "held"), appends
// "leave <pid>" and releases it.
import { appendFileSync, existsSync } from 'node:fs';
import { MachineLock } from '../../src/fleet/machine-lock.js';
import { logger } from '../../src/log.js';

const [file, journal, holdArg, goFile] = process.argv.slice(2);
if (goFile) process.stdout.write('ready\n');
while (goFile && !existsSync(goFile)) await new Promise((r) => setTimeout(r, 5));
const lock = new MachineLock({ file: file!, log: logger('lock-contender'), pollMs: 20 });
await lock.acquire(`contender ${process.pid}`);
appendFileSync(journal!, `enter ${process.pid}\n`);
if (holdArg === 'forever') {
  process.stdout.write('held\n');
  // Holds until killed: a timer keeps the event loop (and so the process) alive.
  setInterval(() => undefined, 1 << 30);
} else {
  await new Promise((r) => setTimeout(r, Number(holdArg)));
  appendFileSync(journal!, `leave ${process.pid}\n`);
  await lock.release();
}
