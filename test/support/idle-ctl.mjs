// Stands in for launchctl in the drills: `idle-ctl.mjs start|stop <dir> <port>` starts or stops a real HTTP
// "idle model server" (detached, pid in <dir>/idle.pid) and appends each call to <dir>/events.log.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [command, dir, port] = process.argv.slice(2);
const pidFile = join(dir, 'idle.pid');
appendFileSync(join(dir, 'events.log'), `${command}\n`);
if (command === 'stop') {
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {}
    rmSync(pidFile, { force: true });
  }
} else if (command === 'start') {
  const server = `require('http').createServer((q, s) => s.end('ok')).listen(${Number(port)}, '127.0.0.1')`;
  const child = spawn(process.execPath, ['-e', server], { detached: true, stdio: 'ignore' });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
}
