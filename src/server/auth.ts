import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * Token checks for the coordinator's web server. The token (AUTORESEARCH_SERVER_TOKEN) is accepted as a Bearer
 * token (workers, curl) or as the password of HTTP Basic auth with any user name (a browser's login prompt).
 * Comparison is on SHA-256 digests with `timingSafeEqual`: constant time, and the token's length does not leak.
 */
export function presentedSecret(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const [scheme, value] = authorization.split(/\s+/, 2);
  if (!scheme || !value) return null;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function secretMatches(presented: string | null, expected: string): boolean {
  // Always hash and compare, even with nothing presented, so a missing header takes as long as a wrong one.
  const ok = timingSafeEqual(digest(presented ?? ''), digest(expected));
  return ok && presented !== null;
}

export function isAuthenticated(req: Request, token: string | undefined): boolean {
  return token !== undefined && secretMatches(presentedSecret(req.headers.authorization), token);
}

export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function refuse(req: Request, res: Response, message: string): void {
  res.setHeader('www-authenticate', 'Basic realm="autoresearch", charset="UTF-8"');
  res.status(401);
  if (req.accepts(['html', 'json']) === 'html') res.type('text').send(`${message}\n`);
  else res.json({ error: message });
}

/** Refuses any request without the token. */
export function requireToken(token: string) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (isAuthenticated(req, token)) return next();
    refuse(req, res, 'authentication required: send the AUTORESEARCH_SERVER_TOKEN as a Bearer token or as the Basic auth password');
  };
}

/**
 * Browsers send Basic credentials on every request to the origin, so a page on another site could make the
 * browser POST here. Writes must come from this origin: `Sec-Fetch-Site` (or Origin, for older clients) is checked.
 */
export function sameOriginWrites() {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    const sameSite = site === undefined || site === 'same-origin' || site === 'none';
    const sameOrigin = origin === undefined || origin === `${req.protocol}://${req.headers.host}`;
    if (sameSite && sameOrigin) return next();
    res.status(403).json({ error: 'cross-site write refused' });
  };
}
