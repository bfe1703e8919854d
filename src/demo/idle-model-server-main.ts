import { idleControl } from './idle-model-server.js';

// Entry point for `node bin/run-ts.js src/demo/idle-model-server-main.ts start|stop ...` (see idle-model-server.ts).
try {
  await idleControl(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
