import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../src/project.js';
import { writeFileAtomic } from '../../src/fs/atomic.js';
import { renderAclFile } from './acl.js';
import { renderLanConf } from './conf.js';

const credentialSchema = z.strictObject({ username: z.string().min(1), password: z.string().min(16) });

/** What `redis setup` decided, kept next to the files it wrote (mode 600: it holds the passwords). */
export const lanSetupSchema = z.strictObject({
  lanAddress: z.string().nullable(),
  port: z.int().min(1).max(65_535),
  prefix: z.string().min(1),
  /** The Mini's processes. */
  mini: credentialSchema,
  /** The laptop's worker, and the laptop's `fleet.machine`. */
  mbp: credentialSchema,
  mbpMachine: z.string().min(1),
  admin: credentialSchema,
});
export type LanSetup = z.infer<typeof lanSetupSchema>;

/** Before each machine had its own user, one `worker` user served both; its password becomes the Mini's. */
const previousSetupSchema = z.object({
  lanAddress: z.string().nullable(),
  port: z.int().min(1).max(65_535),
  prefix: z.string().min(1),
  worker: credentialSchema,
  admin: credentialSchema,
});

export interface LanFiles {
  dir: string;
  conf: string;
  acl: string;
  credentials: string;
  dataDir: string;
}

/** Everything of the two-machine Redis lives in `<state>/redis-lan/`. */
export function lanFiles(stateDir: string): LanFiles {
  const dir = join(stateDir, 'redis-lan');
  return {
    dir,
    conf: join(dir, 'redis.conf'),
    acl: join(dir, 'users.acl'),
    credentials: join(dir, 'credentials.json'),
    dataDir: join(dir, 'data'),
  };
}

export function readLanSetup(files: LanFiles): LanSetup | null {
  if (!existsSync(files.credentials)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(files.credentials, 'utf8'));
  } catch (error) {
    throw new Error(`${files.credentials} is not valid JSON (${(error as Error).message}); run \`autoresearch redis setup --rotate\``);
  }
  const parsed = lanSetupSchema.safeParse(raw);
  const previous = parsed.success ? null : previousSetupSchema.safeParse(raw);
  if (previous?.success) {
    const { worker, ...rest } = previous.data;
    // The laptop gets a user of its own: a new password, so the laptop needs the new `redis url --for mbp`.
    return { ...rest, mini: worker, mbp: { username: 'autoresearch-mbp', password: newPassword() }, mbpMachine: 'mbp' };
  }
  if (!parsed.success) {
    throw new Error(`${files.credentials} is malformed (${parsed.error.issues[0]?.message}); run \`autoresearch redis setup --rotate\``);
  }
  return parsed.data;
}

export interface SetupOptions {
  stateDir: string;
  prefix: string;
  lanAddress: string | null;
  port: number;
  /** New passwords even when some exist (the old ones stop working after `ACL LOAD` or a restart). */
  rotate: boolean;
  /** The laptop's `fleet.machine` (its presence keys carry it). @defaultValue the previous set-up's, else "mbp" */
  mbpMachine?: string;
}

/** A password with 192 bits of entropy, URL-safe so it can sit in a redis:// URL unencoded. */
function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Writes the ACL file, the top-level redis.conf and the credentials. Existing passwords are kept unless
 * `rotate`, so re-running after a change of address does not lock the laptop out.
 */
export function writeLanSetup(options: SetupOptions): { setup: LanSetup; files: LanFiles; rotated: boolean } {
  const files = lanFiles(options.stateDir);
  const previous = options.rotate ? null : readLanSetup(files);
  const setup: LanSetup = {
    lanAddress: options.lanAddress,
    port: options.port,
    prefix: options.prefix,
    mini: previous?.mini ?? { username: 'autoresearch', password: newPassword() },
    mbp: previous?.mbp ?? { username: 'autoresearch-mbp', password: newPassword() },
    mbpMachine: options.mbpMachine ?? previous?.mbpMachine ?? 'mbp',
    admin: previous?.admin ?? { username: 'admin', password: newPassword() },
  };
  const conf = renderLanConf({
    baseConf: join(PROJECT_ROOT, 'redis.conf'),
    lanFragment: join(PROJECT_ROOT, 'ops', 'redis', 'lan.conf'),
    lanAddress: setup.lanAddress,
    port: setup.port,
    dataDir: files.dataDir,
    aclFile: files.acl,
  });
  const acl = renderAclFile({ prefix: setup.prefix, mini: setup.mini, mbp: setup.mbp, mbpMachine: setup.mbpMachine, admin: setup.admin });
  mkdirSync(files.dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(files.credentials, `${JSON.stringify(setup, null, 2)}\n`, { mode: 0o600 });
  writeFileAtomic(files.acl, acl, { mode: 0o600 });
  writeFileAtomic(files.conf, conf, { mode: 0o600 });
  return { setup, files, rotated: previous === null };
}
