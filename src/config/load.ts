import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { describeIssues } from './issues.js';
import { configFileSchema, type ConfigFile } from './schema.js';
import { secretsFromEnv, type Secrets } from './secrets.js';

export const DEFAULT_CONFIG_FILE = 'autoresearch.config.yaml';

export interface ResolvedPaths {
  state: string;
  repo: string;
  results: string;
  memoryEvents: string;
  adaptersExperimental: string;
  logs: string;
  stableAdapter: string;
}

/** The parsed, validated configuration: every path absolute, secrets from the environment. */
export interface Config extends Omit<ConfigFile, 'paths'> {
  /** The file it came from, or null when no file exists and the defaults apply. */
  source: string | null;
  paths: ResolvedPaths;
  secrets: Secrets;
  /** True when REDIS_URL set `redis.url`; then no embedded server is ever started. */
  redisFromEnv: boolean;
}

export interface LoadOptions {
  /** An explicit file: it must exist. Without one, ./autoresearch.config.yaml is used if present. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? env.AUTORESEARCH_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (explicit && !existsSync(file)) {
    throw new ConfigError(`config file ${file} does not exist; copy autoresearch.config.example.yaml to start one`);
  }
  const present = existsSync(file);
  const text = present ? readFileSync(file, 'utf8') : '';
  return parseConfig(text, { file: present ? file : null, env, baseDir: present ? dirname(file) : cwd });
}

export function parseConfig(
  text: string,
  options: { file: string | null; env?: NodeJS.ProcessEnv; baseDir: string },
): Config {
  const shown = options.file ? displayPath(options.file) : '(defaults)';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      `${shown} is not valid YAML`,
      doc.errors.map((e) => `${e.message.split('\n')[0]} (${shown}:${lines.linePos(e.pos[0]).line})`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${shown} must hold a map of sections (paths, council, redis, ...), got ${JSON.stringify(raw)}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `${shown} has ${parsed.error.issues.length === 1 ? 'an error' : 'errors'}`,
      describeIssues(parsed.error.issues, raw, { doc, lines, file: shown }, configFileSchema),
    );
  }
  const env = options.env ?? process.env;
  const redisUrl = env.REDIS_URL?.trim();
  const value = parsed.data;
  return {
    ...value,
    source: options.file,
    paths: resolvePaths(value.paths, options.baseDir),
    council: { ...value.council, dir: expand(value.council.dir, options.baseDir) },
    redis: redisUrl ? { ...value.redis, url: redisUrl, embedded: false } : value.redis,
    redisFromEnv: Boolean(redisUrl),
    secrets: secretsFromEnv(env),
  };
}

function resolvePaths(paths: ConfigFile['paths'], baseDir: string): ResolvedPaths {
  const repo = expand(paths.repo, baseDir);
  return {
    state: expand(paths.state, baseDir),
    repo,
    results: expand(paths.results, repo),
    memoryEvents: expand(paths.memoryEvents, baseDir),
    adaptersExperimental: expand(paths.adaptersExperimental, repo),
    logs: expand(paths.logs, repo),
    stableAdapter: expand(paths.stableAdapter, baseDir),
  };
}

/** Relative to the working folder when inside it, so messages stay short; absolute otherwise. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function expand(path: string, base: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(base, path);
}
