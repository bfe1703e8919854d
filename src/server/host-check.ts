import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { NextFunction, Request, Response } from 'express';

/**
 * DNS rebinding: a page on attacker.example re-resolves its own name to 127.0.0.1 (or the Mini's LAN address),
 * and the browser then treats this server as same-origin with the page, sending `Host: attacker.example`. Only
 * names the operator chose are answered. An IP literal is always fine: a rebinding page cannot make the browser
 * send one, because it only controls names.
 */
export function allowedHostNames(extra: readonly string[], machine = hostname()): Set<string> {
  const short = machine.split('.')[0] ?? machine;
  return new Set(['localhost', machine, short, `${short}.local`, ...extra].map((h) => h.toLowerCase()));
}

/** The name in a Host header without its port; IPv6 literals keep no brackets. Null when it is malformed. */
export function hostNameOf(header: string | undefined): string | null {
  if (!header) return null;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end > 0 ? value.slice(1, end) : null;
  }
  const colon = value.indexOf(':');
  const name = colon >= 0 ? value.slice(0, colon) : value;
  return name === '' ? null : name.replace(/\.$/, '');
}

export function requireKnownHost(allowed: ReadonlySet<string>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const name = hostNameOf(req.headers.host);
    if (name !== null && (isIP(name) !== 0 || allowed.has(name))) return next();
    res.status(421).json({
      error: `this server does not answer for host "${req.headers.host ?? ''}": add the name to server.allowedHosts if you use it`,
    });
  };
}
