export interface UrlOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  tls?: boolean;
}

/** `redis://user:password@host:port`, or `rediss://` for TLS; credentials percent-encoded. */
export function connectionUrl(options: UrlOptions): string {
  const scheme = options.tls ? 'rediss' : 'redis';
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return `${scheme}://${encodeURIComponent(options.username)}:${encodeURIComponent(options.password)}@${host}:${options.port}`;
}
