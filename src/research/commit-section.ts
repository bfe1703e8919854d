import type { Mode, SectionValues } from './executor.js';
import { baselineValues, searchSpace, searchSpaceNames, type SearchSpace } from './hyperparameters.js';
import { TRAIN_PY } from './ledger.js';
import type { LoopDeps } from './loop-deps.js';
import { SectionError } from './section.js';

/** The section of `commit`'s train.py; a SectionError names the file, the commit and the bad value. */
export function sectionAt(deps: Pick<LoopDeps, 'section' | 'ledger'>, source: string, commit: string, space: SearchSpace): SectionValues {
  try {
    return deps.section.read(source, space);
  } catch (error) {
    if (error instanceof SectionError) throw new SectionError(`${deps.ledger.repo}/${TRAIN_PY} at ${commit.slice(0, 12)}: ${error.message}`);
    throw error;
  }
}

/**
 * The section of `commit`'s train.py, read in `mode`'s search space. A section that fits another search space
 * was written for another base model (the seed's train.py holds the Qwen table's baseline): the space's own
 * baseline is the starting point then, and the next experiment's commit writes it whole. A section that fits
 * no table is a bad value, reported with the file, the commit and the value.
 */
export function startingPoint(deps: Pick<LoopDeps, 'section' | 'spaces' | 'agents' | 'log' | 'ledger'>, source: string, commit: string, mode: Mode): SectionValues {
  const space = deps.spaces[mode];
  try {
    return sectionAt(deps, source, commit, space);
  } catch (error) {
    if (!(error instanceof SectionError)) throw error;
    const fitsAnother = searchSpaceNames()
      .filter((name) => name !== space.name)
      .some((name) => {
        try {
          deps.section.read(source, searchSpace(name));
          return true;
        } catch {
          return false;
        }
      });
    if (!fitsAnother) throw error;
    deps.log.info(
      { mode, searchSpace: space.name, why: error.message },
      `the section does not fit ${mode} mode's search space ${space.name}; starting from its baseline (${space.file})`,
    );
    return baselineValues(deps.agents, space.table) as unknown as SectionValues;
  }
}

/** The section of a commit whose mode is unknown: read in the first search space it fits. */
export function safeRead(deps: LoopDeps, source: string): SectionValues | null {
  let problem = '';
  for (const space of new Set(Object.values(deps.spaces))) {
    try {
      return deps.section.read(source, space);
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  deps.log.warn({ err: problem, file: TRAIN_PY }, 'could not read the section of an undecided commit');
  return null;
}
