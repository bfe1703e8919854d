import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { BEGIN_MARKER, END_MARKER, SectionError } from '../research/section.js';

/**
 * The identity of train.py's code: the sha256 of the file with the AGENT MODIFIABLE section's body left out
 * (its marker lines stay). Two machines train the same experiment only if this is equal and the section holds
 * the same values, which the job payload carries. Pure.
 */
export function trainPyCodeSha256(source: string): string {
  const lines = source.split('\n');
  const begin = lines.flatMap((l, i) => (l.trim() === BEGIN_MARKER ? [i] : []));
  const end = lines.flatMap((l, i) => (l.trim() === END_MARKER ? [i] : []));
  if (begin.length !== 1 || end.length !== 1 || end[0]! < begin[0]!) {
    throw new SectionError(`train.py must hold the lines '${BEGIN_MARKER}' and '${END_MARKER}' once each, in that order`);
  }
  const code = [...lines.slice(0, begin[0]! + 1), ...lines.slice(end[0]!)].join('\n');
  return createHash('sha256').update(code).digest('hex');
}

/** python/train.py as committed at `commit` in `repo`, or null when that repository does not have it. */
export async function trainPyAtCommit(repo: string, commit: string): Promise<string | null> {
  if (!/^[0-9a-f]{7,64}$/.test(commit)) return null;
  const shown = await execa('git', ['show', `${commit}:python/train.py`], { cwd: repo, reject: false, timeout: 30_000, stripFinalNewline: false });
  return shown.exitCode === 0 ? shown.stdout : null;
}
