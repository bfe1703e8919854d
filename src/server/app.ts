import type { Queue } from 'bullmq';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { isLoopbackHost, requireToken } from './auth.js';
import { mountBullBoard } from './bull-board.js';
import { allowedHostNames, requireKnownHost } from './host-check.js';
import { renderDashboard } from './dashboard/page.js';
import { renderRecordsPage } from './dashboard/records-page.js';
import { buildResultsView } from './dashboard/view-model.js';
import { EXPERIMENT_ID, loadResults, readRecords, recordsFile, type DataPaths } from './data.js';
import type { ParsedResults } from '../research/results-format.js';
import { buildSearchView, type GroupImportance, type SpecsFor } from './dashboard/search-view.js';
import type { StatusView } from './status-view.js';
import type { TimelineView } from './timeline-data.js';

export interface ServerDeps {
  /** The address the server binds: anything but loopback puts every route except health behind the token. */
  host: string;
  token: string | undefined;
  paths: DataPaths;
  jailbreakVeto: number;
  queues: readonly Queue[];
  status: () => Promise<StatusView>;
  /** The night per machine from the job records (the dashboard's timeline card and /api/timeline). */
  timeline?: () => Promise<TimelineView>;
  /** "ok" or why Redis is unreachable. */
  redisHealth: () => Promise<string>;
  version: string;
  /**
   * The fleet's artifact store, mounted at /artifacts ahead of the server token: it checks its own token
   * (AUTORESEARCH_ARTIFACT_TOKEN), which opens nothing else, and the server token does not open it.
   */
  artifacts?: Router;
  /** Host header names answered besides loopback, IP literals and this machine's name (server.allowedHosts). */
  allowedHosts?: readonly string[];
  clock?: () => Date;
  /** Parameter importance per mode and base model (python/planner.py, cached); without it the page says so. */
  importance?: (parsed: ParsedResults) => Promise<Map<string, GroupImportance>>;
  /** Each mode's searched parameters (its search space), for the score-against-parameter plots. */
  specsFor?: SpecsFor;
}

/** Our pages run no script and load nothing from elsewhere, so they can forbid both. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function page(res: Response, body: string): void {
  res.setHeader('content-security-policy', PAGE_CSP);
  res.type('html').send(body);
}

/** The coordinator's web server: dashboard, JSON API, bull-board and the artifact store, in one express app. */
export function createServerApp(deps: ServerDeps): Express {
  if (!isLoopbackHost(deps.host) && !deps.token) {
    throw new Error(`server.host is ${deps.host}, not loopback: set AUTORESEARCH_SERVER_TOKEN so other machines must authenticate`);
  }
  const clock = deps.clock ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requireKnownHost(allowedHostNames(deps.allowedHosts ?? [])));
  app.use((_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    next();
  });

  app.get('/api/health', async (_req, res) => {
    const redis = await deps.redisHealth();
    res.status(redis === 'ok' ? 200 : 503).json({ ok: redis === 'ok', redis, version: deps.version });
  });

  if (deps.artifacts) app.use('/artifacts', deps.artifacts);
  if (!isLoopbackHost(deps.host)) app.use(requireToken(deps.token!));

  const resultsView = () => {
    const { parsed, error } = loadResults(deps.paths);
    return { parsed, error, view: buildResultsView(parsed.agents, parsed.rows) };
  };

  app.get('/', async (_req, res) => {
    const { parsed, error, view } = resultsView();
    const withRecords = new Set(view.experiments.map((e) => e.row.experimentId).filter((id) => recordsFile(deps.paths, id) !== null));
    page(
      res,
      renderDashboard({
        results: view,
        corrupt: parsed.corrupt,
        resultsError: error,
        status: await deps.status(),
        jailbreakVeto: deps.jailbreakVeto,
        withRecords,
        now: clock(),
        ...(deps.timeline ? { timeline: await deps.timeline() } : {}),
        search: deps.specsFor ? buildSearchView(parsed.rows, deps.specsFor, parsed.agents) : [],
        importances: deps.importance ? await deps.importance(parsed) : new Map(),
      }),
    );
  });

  app.get('/api/results', (_req, res) => {
    const { parsed, error, view } = resultsView();
    res.json({
      error,
      agents: view.agents,
      counts: view.counts,
      corrupt: parsed.corrupt,
      best: view.best,
      experiments: view.experiments.map((e) => ({
        ...e,
        recordsUrl: recordsFile(deps.paths, e.row.experimentId) ? `/experiments/${encodeURIComponent(e.row.experimentId)}/records` : null,
      })),
    });
  });

  app.get('/api/status', async (_req, res) => {
    res.json(await deps.status());
  });

  app.get('/api/timeline', async (_req, res) => {
    if (!deps.timeline) {
      res.status(404).json({ error: 'this server has no job records to draw' });
      return;
    }
    res.json(await deps.timeline());
  });

  const withRecords = (handler: (req: Request, res: Response, file: string, id: string) => void) => (req: Request, res: Response) => {
    const id = String(req.params.id);
    const file = EXPERIMENT_ID.test(id) ? recordsFile(deps.paths, id) : null;
    if (!file) {
      res.status(404).json({ error: `no eval records for experiment "${id}"` });
      return;
    }
    handler(req, res, file, id);
  };
  app.get(
    '/experiments/:id/records',
    withRecords((_req, res, file, id) => page(res, renderRecordsPage({ experimentId: id, ...readRecords(file), source: file }))),
  );
  app.get(
    '/api/experiments/:id/records',
    withRecords((_req, res, file, id) => res.json({ experimentId: id, source: file, ...readRecords(file) })),
  );

  mountBullBoard(app, deps.queues, deps.token);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) res.status(500).json({ error: (error as Error).message ?? 'internal error' });
  });
  return app;
}
