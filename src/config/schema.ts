import { z } from 'zod';
import { councilSection } from './sections/council.js';
import { evalSection } from './sections/eval.js';
import { fleetSection } from './sections/fleet.js';
import { idleServerSection } from './sections/idle-server.js';
import { modelsSection } from './sections/models.js';
import { pathsSection } from './sections/paths.js';
import { plannerSection } from './sections/planner.js';
import { redisSection } from './sections/redis.js';
import { runSection } from './sections/run.js';
import { serverSection } from './sections/server.js';

/** The whole of autoresearch.config.yaml. Each area owns its section; unknown keys are errors everywhere. */
export const configFileSchema = z
  .strictObject({
    paths: pathsSection,
    council: councilSection,
    redis: redisSection,
    models: modelsSection,
    fleet: fleetSection,
    idleServer: idleServerSection,
    planner: plannerSection,
    eval: evalSection,
    server: serverSection,
    run: runSection,
  })
  .prefault({});

export type ConfigFile = z.infer<typeof configFileSchema>;
