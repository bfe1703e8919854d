import { z } from 'zod';
import { integer, text } from '../fields.js';

/** The coordinator's web server (dashboard, bull-board, artifact store). Tokens come from the environment. */
export const serverSection = z
  .strictObject({
    /** Anything but a loopback address requires AUTORESEARCH_SERVER_TOKEN. */
    host: text().default('127.0.0.1'),
    port: integer(1, 65_535).default(8377),
    /** Largest dataset or adapter upload accepted. */
    maxUploadBytes: integer(1, 2 ** 40).default(4 * 2 ** 30),
  })
  .prefault({});
