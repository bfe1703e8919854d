import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { PROJECT_ROOT } from '../../src/project.js';

const temps: string[] = [];

afterEach(() => {
  while (temps.length > 0) rmSync(temps.pop()!, { recursive: true, force: true });
});

/** A throwaway copy of the example council (council.yaml, agents/ without training data, eval/) to break. */
export function councilCopy(): string {
  const source = join(PROJECT_ROOT, 'council');
  const dir = mkdtempSync(join(tmpdir(), 'council-'));
  temps.push(dir);
  cpSync(join(source, 'council.yaml'), join(dir, 'council.yaml'));
  cpSync(join(source, 'agents'), join(dir, 'agents'), { recursive: true, filter: (p) => !p.endsWith('train.jsonl') });
  cpSync(join(source, 'eval'), join(dir, 'eval'), { recursive: true });
  return dir;
}
