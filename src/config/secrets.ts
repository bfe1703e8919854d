/** Secrets are read from the environment only, so they never land in a config file or a commit. */
export interface Secrets {
  anthropicApiKey?: string;
  /** Bearer token for the coordinator's web server and artifact store. */
  serverToken?: string;
}

export function secretsFromEnv(env: NodeJS.ProcessEnv): Secrets {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  return {
    anthropicApiKey: value('ANTHROPIC_API_KEY'),
    serverToken: value('AUTORESEARCH_SERVER_TOKEN'),
  };
}
