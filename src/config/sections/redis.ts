import { z } from 'zod';
import { flag, text } from '../fields.js';

export const redisSection = z
  .strictObject({
    /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. The REDIS_URL environment variable wins. */
    url: z
      .string({ error: 'expected a Redis URL such as "redis://127.0.0.1:6379"' })
      .regex(/^rediss?:\/\/.+/, { error: 'expected a Redis URL such as "redis://127.0.0.1:6379"' })
      .default('redis://127.0.0.1:6379'),
    /** With nothing answering on a loopback `url`, start a local redis-server with the project's redis.conf. */
    embedded: flag().default(true),
    /** BullMQ key prefix: machines sharing one Redis must use the same one. */
    prefix: text()
      .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, "-" or "_" (no ":")' })
      .default('autoresearch'),
  })
  .prefault({});
