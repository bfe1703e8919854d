import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express, NextFunction, Request, Response } from 'express';
import { requireToken, sameOriginWrites } from './auth.js';

export const READ_ONLY_BOARD = '/queues';
export const ADMIN_BOARD = '/admin/queues';

function board(basePath: string, queues: readonly Queue[], readOnlyMode: boolean, title: string) {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: title } },
  });
  return serverAdapter.getRouter();
}

/** Any method but GET/HEAD is refused before bull-board sees it, whatever its own read-only checks cover. */
function readsOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  res.status(405).json({ error: `this board is read-only; writes go through ${ADMIN_BOARD} with the server token` });
}

/**
 * Two boards over the same queues: `/queues`, read-only for whoever may see the dashboard ("treat dashboard
 * access as Redis access": buttons hidden, write routes answering 405, and every non-GET refused here first);
 * and `/admin/queues` with retry, clean, pause and the rest, behind the token, for same-origin writes only.
 * Without a token configured there is no admin board at all.
 */
export function mountBullBoard(app: Express, queues: readonly Queue[], token: string | undefined): void {
  app.use(READ_ONLY_BOARD, readsOnly, board(READ_ONLY_BOARD, queues, true, 'autoresearch queues (read-only)'));
  if (token) {
    app.use(ADMIN_BOARD, requireToken(token), sameOriginWrites(), board(ADMIN_BOARD, queues, false, 'autoresearch queues (admin)'));
  } else {
    app.use(ADMIN_BOARD, (_req: Request, res: Response) => {
      res.status(403).json({ error: 'set AUTORESEARCH_SERVER_TOKEN and restart the server to enable queue writes' });
    });
  }
}
