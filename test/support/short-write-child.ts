/**
 * Run under a file-size limit (`prlimit --fsize`, SIGXFSZ ignored), where the kernel cuts a write short at the
 * limit exactly as a full disk does, then fails the next one with EFBIG. Prints "ok" or the error's message.
 *   short-write-child.ts atomic <path> <bytes>   writeFileAtomic of <bytes> bytes of "x"
 *   short-write-child.ts append <path> <rowJson> <agentsJson>   appendResult of one row
 */
import { writeFileAtomic } from '../../src/fs/atomic.js';
import { appendResult } from '../../src/research/results-file.js';

const [mode, path, a, b] = process.argv.slice(2);
try {
  if (mode === 'atomic') writeFileAtomic(path!, Buffer.alloc(Number(a), 'x'));
  else if (mode === 'append') appendResult(path!, JSON.parse(a!), JSON.parse(b!));
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write('ok\n');
} catch (error) {
  process.stdout.write(`error: ${(error as Error).message}\n`);
}
