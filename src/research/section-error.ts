/** A section of python/train.py that cannot be read or written: the message names the parameter and the problem. */
export class SectionError extends Error {
  override readonly name = 'SectionError';
  readonly exitCode = 2;
}
