import { isIP } from 'node:net';

export interface LanConfOptions {
  /** The project's base file (AOF everysec, noeviction) and the LAN fragment, included in this order. */
  baseConf: string;
  lanFragment: string;
  /** The Mini's address on the home network, or null to listen on loopback only. */
  lanAddress: string | null;
  port: number;
  dataDir: string;
  aclFile: string;
}

/**
 * The top-level redis.conf of the two-machine set-up. Redis reads a value up to the end of its line, so each
 * path is checked for line breaks and quoted; addresses must be literal IPs (Redis does not resolve names).
 */
export function renderLanConf(options: LanConfOptions): string {
  if (options.lanAddress !== null && isIP(options.lanAddress) === 0) {
    throw new Error(`LAN address "${options.lanAddress}" is not an IP address; use the Mini's address, e.g. 192.168.1.20`);
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
    throw new Error(`port ${options.port} must be a whole number between 1 and 65535`);
  }
  const bind = ['127.0.0.1', '-::1', ...(options.lanAddress ? [options.lanAddress] : [])];
  return [
    '# Written by `autoresearch redis setup`; re-run it instead of editing. Later lines override included ones.',
    `include ${quote(options.baseConf)}`,
    `include ${quote(options.lanFragment)}`,
    `bind ${bind.join(' ')}`,
    `port ${options.port}`,
    `dir ${quote(options.dataDir)}`,
    `aclfile ${quote(options.aclFile)}`,
    '',
  ].join('\n');
}

function quote(path: string): string {
  if (/["\r\n\\]/.test(path)) throw new Error(`path ${JSON.stringify(path)} cannot hold quotes, backslashes or line breaks`);
  return `"${path}"`;
}
