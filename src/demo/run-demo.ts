import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { readPresence } from '../fleet/presence.js';
import { PROJECT_ROOT } from '../project.js';
import { startRedisServer } from '../redis/server-process.js';
import { readResults } from '../research/results-file.js';
import type { ResultRow } from '../research/results-format.js';
import { runLoop } from '../research/loop.js';
import { ensureTinyModel } from '../train/tiny-model.js';
import { loadCouncil } from '../council/load.js';
import { IdleServer } from '../fleet/idle-server.js';
import { loopDeps } from '../cli/commands/research-wiring.js';
import { onCleanup } from '../cli/lifecycle.js';
import { freePort } from '../net/free-port.js';
import { startCli, type ChildProcess } from './children.js';
import { writeDemoConfigs } from './demo-config.js';
import type { DemoDisplay } from './display.js';
import { askIdleServer, DEMO_QUESTION, serveChampion, watchIdleEvents, type Reply } from './idle-night.js';
import { idleCommand, readLoaded, type IdleServerFiles } from './idle-model-server.js';
import { clearDemoFolder, demoPath, prepareScratchRepo } from './workspace.js';

export interface DemoOptions {
  experiments: number;
  budgetSeconds: number;
  /** The demo's folder; by default `.autoresearch/demo` in this checkout. */
  dir: string;
  serve: boolean;
  signal: AbortSignal;
}

export interface DemoOutcome {
  rows: ResultRow[];
  resultsFile: string;
  repo: string;
  dashboard: string;
  interrupted: boolean;
  /** The idle server's answers to the fixed question before and after the night. */
  replies: { before: Reply; after: Reply | null };
}

/** After the Mini's last GPU job, its worker waits this long for another before restoring the idle server. */
const IDLE_RESTORE_DELAY_MS = 5_000;

/** The prefix of python/tiny_model.py's progress lines on stderr. */
const TINY_LOG = '[tiny-model] ';

/**
 * The whole distributed loop on one machine: an embedded Redis, the coordinator server, a Mini-role and a
 * laptop-role worker as separate processes, and the research loop with the offline planner (the hybrid with
 * Claude when ANTHROPIC_API_KEY is set), in a scratch clone. Halfway through, the laptop goes away and comes back.
 */
export async function runDemo(options: DemoOptions, display: DemoDisplay): Promise<DemoOutcome> {
  const stateDir = join(PROJECT_ROOT, '.autoresearch');
  const councilDir = join(PROJECT_ROOT, 'council');
  const logDir = demoPath(options.dir, 'logs');

  display.phase('tiny model: pre-trained once under the council\'s prompts (never its training rows), then cached');
  // A first build takes minutes; its own progress lines (tokenizer, every 50th pre-training step) say it is alive.
  const model = await ensureTinyModel({ councilDir, stateDir }, { onStderr: (line) => line.startsWith(TINY_LOG) && display.note(line.slice(TINY_LOG.length)) });
  display.note(`model at ${model.modelDir}`);

  const idle: IdleServerFiles = {
    dir: demoPath(options.dir, 'idleServer'),
    model: model.modelDir,
    adapter: demoPath(options.dir, 'stableAdapter'),
    port: await freePort(),
    maxTokens: 48,
  };
  const stopIdle = () => execa(idleCommand('stop', idle)[0]!, idleCommand('stop', idle).slice(1), { reject: false });
  // A server left by an interrupted demo is found by the pid file in the old folder, before that folder goes.
  if (existsSync(join(idle.dir, 'server.pid'))) await stopIdle();
  clearDemoFolder(options.dir);
  mkdirSync(logDir, { recursive: true });
  mkdirSync(idle.dir, { recursive: true });

  display.phase('Redis: an embedded redis-server with the project\'s redis.conf (AOF on, noeviction)');
  const redisServer = await startRedisServer({ port: await freePort(), dataDir: demoPath(options.dir, 'redis') });
  onCleanup(() => redisServer.stop());
  display.note(`listening on ${redisServer.url}`);

  display.phase('scratch repository: a clone of this checkout, so your own stays untouched');
  const scratch = await prepareScratchRepo(PROJECT_ROOT, demoPath(options.dir, 'repo'));
  const council = loadCouncil(councilDir);
  display.note(`${scratch.path} (from ${scratch.head.slice(0, 8)}); both modes search python/search-spaces/tiny.json from its baseline`);

  const serverPort = await freePort();
  const files = writeDemoConfigs({
    root: options.dir,
    repo: scratch.path,
    model: model.modelDir,
    councilDir,
    redisUrl: redisServer.url,
    serverPort,
    budgetSeconds: options.budgetSeconds,
    redisPrefix: 'demo',
    idle,
    idleRestoreDelayMs: IDLE_RESTORE_DELAY_MS,
  });
  const config = loadConfig({ file: files.mini, env: { ...process.env, REDIS_URL: '' } });
  const log = pino({ level: 'info' }, pino.destination({ dest: join(logDir, 'planner.log'), sync: true }));

  display.phase('idle model server: the Mini serves by day with mlx_lm.server on the base model plus the stable adapter');
  const idleServer = new IdleServer(config.idleServer, config.paths.state, log.child({ part: 'idle-server' }));
  // Registered before the workers' cleanup, so it runs after it (cleanups run last-in first-out): a worker that
  // stops restores the idle server, and this stops it for good.
  onCleanup(async () => {
    await stopIdle();
    rmSync(join(config.paths.state, 'idle-server.stopped'), { force: true });
  });
  await idleServer.start('the demo begins: daytime');
  const stopWatching = watchIdleEvents(idle.dir, (event) => display.idleEvent(event));
  onCleanup(stopWatching);
  const askTimeoutMs = config.eval.requestTimeoutMs;
  const before = await askIdleServer(idle.port, council, idle.dir, askTimeoutMs, options.signal);
  display.reply(`before the night (${before.experimentId ?? 'bare base model'})`, `${council.agents[0]!.id}: ${DEMO_QUESTION}`, before.text);
  // Two tokens, as on two Macs: the laptop's worker needs only the artifact token.
  const env = {
    ...process.env,
    AUTORESEARCH_SERVER_TOKEN: randomBytes(16).toString('hex'),
    AUTORESEARCH_ARTIFACT_TOKEN: randomBytes(16).toString('hex'),
  };
  const children: ChildProcess[] = [];
  const start = (name: string, args: string[]) => {
    const child = startCli(name, args, { env, logDir });
    children.push(child);
    return child;
  };
  onCleanup(async () => {
    await Promise.all(children.map((c) => c.stop()));
  });

  const dashboard = `http://127.0.0.1:${serverPort}/`;
  display.phase('coordinator: dashboard, bull-board and the artifact store');
  start('server', ['-c', files.mini, 'serve']);
  await waitFor(() => httpOk(`${dashboard}api/health`), 60_000, 'the coordinator server to answer', options.signal);
  display.note(`dashboard at ${dashboard} (bull-board at ${dashboard}queues)`);

  const presenceRedis = new Redis(redisServer.url, { maxRetriesPerRequest: 3 });
  onCleanup(() => presenceRedis.disconnect());
  const online = async (machine: string) => (await readPresence(presenceRedis, 'demo')).live.some((h) => h.machine === machine);

  display.phase('workers: "mini" (proxy training, evaluation) and "mbp" (full training, fetching over HTTP)');
  start('worker-mini', ['-c', files.mini, 'worker', '--role', 'mini']);
  let mbp = start('worker-mbp', ['-c', files.mbp, 'worker', '--role', 'mbp']);
  await waitFor(async () => (await online('mini')) && (await online('mbp')), 60_000, 'both workers to report in', options.signal);
  display.note(`both online; logs in ${logDir}`);

  const deps = await loopDeps({ config, log, signal: options.signal }, { planner: true });
  display.note(`planner: ${deps.planner.name}`);

  let current = '';
  deps.onProgress = (p) => {
    if (p.experimentId !== current) {
      current = p.experimentId;
      display.note(`${p.experimentId}`);
    }
    display.progress(p);
  };

  const resultsFile = config.paths.results;
  const deadline = new Date(Date.now() + 3 * 3600_000);
  const laptopAwayAfter = Math.max(1, Math.floor(options.experiments / 2));
  let interrupted = false;
  for (let n = 1; n <= options.experiments && !interrupted; n++) {
    if (n === laptopAwayAfter + 1) {
      display.phase('the laptop goes to sleep: stopping the "mbp" worker; the night continues in proxy mode');
      await mbp.stop();
      await waitFor(async () => !(await online('mbp')), 30_000, 'the laptop\'s heartbeat to expire', options.signal);
      display.note('mbp is away');
    }
    if (n === laptopAwayAfter + 2) {
      display.phase('the laptop is back: starting the "mbp" worker again; full mode resumes');
      mbp = start('worker-mbp', ['-c', files.mbp, 'worker', '--role', 'mbp']);
      await waitFor(() => online('mbp'), 60_000, 'the laptop to report in', options.signal);
    }
    display.phase(`experiment ${n} of ${options.experiments}`);
    const rowsBefore = readResults(resultsFile).rows.length;
    const summary = await runLoop(deps, { maxExperiments: 1, deadline, mode: 'auto', signal: options.signal });
    const decided = readResults(resultsFile).rows.slice(rowsBefore);
    for (const row of decided) display.decision(row);
    interrupted = options.signal.aborted || summary.abandoned !== null;
    const kept = decided.filter((r) => r.result === 'keep').at(-1);
    if (kept && !interrupted) {
      display.phase(`new champion ${kept.experimentId}: promoted to ${config.paths.stableAdapter}; the idle server must serve it`);
      const how = await serveChampion({
        idle: idleServer,
        idleDir: idle.dir,
        stateDir: config.paths.state,
        experimentId: kept.experimentId,
        stableAdapter: config.paths.stableAdapter,
        waitMs: IDLE_RESTORE_DELAY_MS + config.idleServer.healthTimeoutMs,
        log,
        signal: options.signal,
      });
      display.note(how === 'already' ? 'the worker had already restored it with the new champion' : 'restarted with the new champion');
    }
  }
  display.close();

  let after: Reply | null = null;
  if (!interrupted) {
    display.phase('the morning: the restored idle server answers the same question');
    await waitFor(() => idleServer.healthy(), IDLE_RESTORE_DELAY_MS + config.idleServer.healthTimeoutMs, 'the idle server to be restored', options.signal);
    after = await askIdleServer(idle.port, council, idle.dir, askTimeoutMs, options.signal);
    display.reply(`before the night (${before.experimentId ?? 'bare base model'})`, `${council.agents[0]!.id}: ${DEMO_QUESTION}`, before.text);
    display.reply(`after the night (${after.experimentId ? `stable adapter from ${after.experimentId}` : 'still the bare base model: nothing was kept'})`, null, after.text);
    display.note(after.raw === before.raw ? 'the reply is unchanged' : 'the reply changed');
  }
  stopWatching();
  writeFileAtomic(join(idle.dir, 'replies.json'), `${JSON.stringify({ question: DEMO_QUESTION, agent: council.agents[0]!.id, before, after }, null, 2)}\n`);

  display.phase('results');
  await execa(process.execPath, [join(PROJECT_ROOT, 'bin', 'autoresearch.js'), '-c', files.mini, 'results'], {
    stdout: 'inherit',
    stderr: 'inherit',
    reject: false,
  });
  const refs = await execa('git', ['-C', scratch.path, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/'], { reject: false });
  display.note(`results.tsv      ${resultsFile}`);
  display.note(`eval records     ${join(config.paths.state, 'evals')}/<run>/records.jsonl (per experiment: ${config.paths.logs}/<id>/)`);
  display.note(`memory events    ${config.paths.memoryEvents}`);
  display.note(`git              ${scratch.path}, branch ${config.run.branch}; refs: ${String(refs.stdout).split('\n').filter(Boolean).length} under refs/autoresearch/`);
  const loaded = readLoaded(idle.dir);
  display.note(`idle server      ${idle.dir} (loaded.json: ${loaded?.adapterPath ? `${loaded.adapterPath} from ${loaded.experimentId}` : 'the bare base model'}; events.jsonl)`);
  display.note(`dashboard        ${dashboard}${options.serve ? '' : ' (stopped with the demo; use --serve to keep it up)'}`);

  if (options.serve && !options.signal.aborted) {
    display.phase(`serving the dashboard at ${dashboard} until Ctrl-C`);
    await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  }
  return { rows: readResults(resultsFile).rows, resultsFile, repo: scratch.path, dashboard, interrupted, replies: { before, after } };
}

async function httpOk(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; see the logs in .autoresearch/demo/logs`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
