import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../project.js';
import { runPythonScript, type PythonScriptOptions } from './python-script.js';

export const PREPARE_PY = join(PROJECT_ROOT, 'python', 'prepare.py');

const countsSchema = z.object({ total: z.int(), general: z.int(), agents: z.record(z.string(), z.int()) });
const prepareResultSchema = z.object({
  dataset_dir: z.string(),
  dataset_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  counts: z.object({ train: countsSchema, valid: countsSchema }),
  reused: z.boolean(),
});

export interface PreparedDataset {
  datasetDir: string;
  datasetSha256: string;
  counts: z.infer<typeof prepareResultSchema>['counts'];
  /** An identical set already existed and was reused. */
  reused: boolean;
}

export interface PrepareRequest {
  councilDir: string;
  /** The train.py whose AGENT MODIFIABLE section gives DATA_MIX_RATIO and PER_AGENT_WEIGHTS. */
  trainPy: string;
  /** Datasets root; the set lands in `<root>/<sha256>/`. */
  datasetsRoot: string;
  seed: number;
  /** The table the section is checked against (python/search-spaces/<name>.json). @defaultValue qwen */
  searchSpace?: string;
}

/** Builds (or finds, by content hash) the train/valid set for a section. Throws UsageError for a bad section or council. */
export async function prepareDataset(request: PrepareRequest, options: PythonScriptOptions = {}): Promise<PreparedDataset> {
  const raw = await runPythonScript(
    PREPARE_PY,
    [
      '--council', request.councilDir,
      '--train-py', request.trainPy,
      '--out', request.datasetsRoot,
      '--seed', String(request.seed),
      ...(request.searchSpace ? ['--search-space', request.searchSpace] : []),
    ],
    options,
  );
  const result = prepareResultSchema.parse(raw);
  return { datasetDir: result.dataset_dir, datasetSha256: result.dataset_sha256, counts: result.counts, reused: result.reused };
}
