import type { Config } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';

/**
 * Whether this machine's token opens the artifact store on the Mini. A 401 is not transient: a worker that
 * cannot fetch datasets or publish adapters would take every job routed to it and fail it, so it must not
 * announce itself at all. An unreachable store is transient (the Mini rebooting, Wi-Fi waking up).
 */
export type ArtifactAccess = 'local' | 'ok' | 'refused' | 'unreachable';

/** A hash no bundle has: an authorised HEAD answers 404, an unauthorised one 401. */
const PROBE = `blobs/${'0'.repeat(64)}`;

export async function checkArtifactAccess(config: Pick<Config, 'fleet' | 'secrets'>): Promise<ArtifactAccess> {
  const url = config.fleet.artifacts.url;
  if (!url) return 'local';
  const token = config.secrets.artifactToken;
  try {
    const response = await fetch(new URL(PROBE, url.endsWith('/') ? url : `${url}/`), {
      method: 'HEAD',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    return response.status === 401 || response.status === 403 ? 'refused' : 'ok';
  } catch {
    return 'unreachable';
  }
}

export function tokenRefusedError(config: Pick<Config, 'fleet' | 'secrets'>): ConfigError {
  const which = config.secrets.artifactToken ? 'refused AUTORESEARCH_ARTIFACT_TOKEN' : 'needs AUTORESEARCH_ARTIFACT_TOKEN, which is not set';
  return new ConfigError(
    `the artifact store at ${config.fleet.artifacts.url} ${which}: this worker takes no jobs. Put the Mini's artifact token ` +
      'in ~/.config/autoresearch/env (AUTORESEARCH_ARTIFACT_TOKEN=..., the same value on both machines), then start the worker again',
  );
}

/** Asked by a processor after a job failed: does the store now refuse this machine (the token was rotated)? */
export interface AccessGuard {
  /** True when it does; the worker is then stopping (no heartbeat, no more jobs) and the job should go back. */
  refusedNow(): Promise<boolean>;
}
