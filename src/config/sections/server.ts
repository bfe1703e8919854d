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
    /** The artifact store's total size; an upload that would pass it is refused (507) until retention frees space. */
    storeQuotaBytes: integer(1, 2 ** 50).default(64 * 2 ** 30),
    /**
     * Host header names served besides loopback names, IP addresses and this machine's own name (and `<name>.local`):
     * any other name is refused (421), so a web page that rebinds its own DNS name to this address reaches nothing.
     */
    allowedHosts: z.array(text('a host name'), { error: 'expected a list of host names such as ["mini.home.arpa"]' }).default([]),
    /**
     * A connection silent this long is closed. There is no limit on a whole request: a 4 GiB upload over slow
     * Wi-Fi takes as long as it keeps moving.
     */
    idleTimeoutMs: integer(1_000, 3_600_000).default(120_000),
  })
  .prefault({});
