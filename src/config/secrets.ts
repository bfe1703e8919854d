/** Secrets are read from the environment only, so they never land in a config file or a commit. */
export interface Secrets {
  anthropicApiKey?: string;
  /** The dashboard, the JSON API and the admin queue board: the Mini's owner only, never given to the laptop. */
  serverToken?: string;
  /** The artifact store (/artifacts) only: upload and fetch datasets and adapters. The laptop holds this one. */
  artifactToken?: string;
}

export function secretsFromEnv(env: NodeJS.ProcessEnv): Secrets {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  return {
    anthropicApiKey: value('ANTHROPIC_API_KEY'),
    serverToken: value('AUTORESEARCH_SERVER_TOKEN'),
    artifactToken: value('AUTORESEARCH_ARTIFACT_TOKEN'),
  };
}
