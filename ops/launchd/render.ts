import { build, parse, type PlistValue } from 'plist';
import { z } from 'zod';

export type PlistDict = { [key: string]: PlistValue };

/** The launchd keys this project uses, so a template edited by hand that breaks one fails at render time. */
export const agentSchema = z.looseObject({
  Label: z.string().regex(/^[A-Za-z0-9.-]+$/),
  ProgramArguments: z.array(z.string().min(1)).min(1),
  WorkingDirectory: z.string().startsWith('/'),
  EnvironmentVariables: z.record(z.string(), z.string()).optional(),
  StandardOutPath: z.string().startsWith('/'),
  StandardErrorPath: z.string().startsWith('/'),
  RunAtLoad: z.boolean().optional(),
  KeepAlive: z.boolean().optional(),
  StartCalendarInterval: z.strictObject({ Hour: z.int().min(0).max(23), Minute: z.int().min(0).max(59) }).optional(),
  ThrottleInterval: z.int().positive().optional(),
  ExitTimeOut: z.int().positive().optional(),
});
export type Agent = z.infer<typeof agentSchema>;

const PLACEHOLDER = /\{\{([A-Za-z]+)\}\}/g;

/**
 * Fills `{{name}}` placeholders in every string of a parsed template. Values are plain data handed to the plist
 * builder afterwards, which escapes them, so a path with `<`, `&` or quotes stays one intact string.
 */
export function fillPlaceholders(value: PlistValue, vars: Readonly<Record<string, string>>): PlistValue {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => fillPlaceholders(v, vars));
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, vars)]));
  }
  return value;
}

export interface RenderOptions {
  vars: Readonly<Record<string, string>>;
  /** Environment variables to leave out (e.g. AUTORESEARCH_CONFIG when there is no config file). */
  dropEnv?: readonly string[];
  /** Overrides the template's StartCalendarInterval. */
  calendar?: { Hour: number; Minute: number };
}

/** A template's text → the agent, checked: placeholders filled, every path absolute. */
export function renderAgent(templateXml: string, options: RenderOptions): Agent {
  const parsed = parse(templateXml);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('a launchd template must hold a dict');
  const filled = fillPlaceholders(parsed, options.vars) as PlistDict;
  const env = filled.EnvironmentVariables as Record<string, string> | undefined;
  if (env && options.dropEnv) for (const key of options.dropEnv) delete env[key];
  if (options.calendar && filled.StartCalendarInterval) filled.StartCalendarInterval = { ...options.calendar };
  const agent = agentSchema.safeParse(filled);
  if (!agent.success) {
    const issue = agent.error.issues[0];
    throw new Error(`launchd template is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return agent.data;
}

export function agentXml(agent: Agent): string {
  return `${build(agent as PlistDict)}\n`;
}
