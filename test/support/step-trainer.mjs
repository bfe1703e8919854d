// A real training-shaped child process for the fleet drills, where MLX would take too long: it reads the
// dataset, runs ITERS steps of STEP_MS each printing JSON progress lines, honours SIGTERM, writes an adapter
// folder derived from its inputs, and prints one JSON result line, the same protocol as python/train.py.
// STEP_TRAINER_TERM_MS makes it take that long to exit after SIGTERM (a trainer saving its state), and
// STEP_TRAINER_EVENTS names a file where it appends "trainer-exit" as it exits on SIGTERM.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [runDir, datasetDir, itersArg, stepMsArg, valuesJson] = process.argv.slice(2);
const iters = Number(itersArg);
const stepMs = Number(stepMsArg);
writeFileSync(join(runDir, 'trainer.pid'), String(process.pid));
process.on('SIGTERM', () => {
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ event: 'terminated', iteration: done })}\n`);
    if (process.env.STEP_TRAINER_EVENTS) appendFileSync(process.env.STEP_TRAINER_EVENTS, 'trainer-exit\n');
    process.exit(143);
  }, Number(process.env.STEP_TRAINER_TERM_MS ?? 0));
});
const data = readFileSync(join(datasetDir, 'train.jsonl'));
const started = Date.now();
let done = 0;
let loss = 2.5;
while (done < iters) {
  await new Promise((r) => setTimeout(r, stepMs));
  done += 1;
  loss *= 0.97;
  const eta = ((Date.now() - started) / done) * (iters - done) / 1000;
  process.stdout.write(`${JSON.stringify({ event: 'progress', iteration: done, iters, trainLoss: loss, etaSeconds: eta })}\n`);
}
const adapterDir = join(runDir, 'adapter');
mkdirSync(adapterDir, { recursive: true });
const weights = createHash('sha256').update(data).update(valuesJson).update(runDir).digest();
writeFileSync(join(adapterDir, 'adapters.safetensors'), weights);
writeFileSync(join(adapterDir, 'adapter_config.json'), JSON.stringify({ values: JSON.parse(valuesJson), iters }));
process.stdout.write(`${JSON.stringify({ event: 'result', status: 'ok', iterations: done, trainLoss: loss, seconds: (Date.now() - started) / 1000, adapterDir })}\n`);
