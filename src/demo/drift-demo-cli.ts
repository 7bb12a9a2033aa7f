// `npm run demo:drift [-- --out DIR] [--seed N]`: the drift demo (drift-demo.ts), step by step on
// stdout, ending with where its chart and repository are. Exit 0 when the loop closed (fired after
// the shift and not before, retrained, promoted), 1 otherwise.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runDriftDemo } from './drift-demo.js';

const USAGE = 'usage: drift-demo-cli.js [--out DIR] [--seed N]';

async function main(argv: string[]): Promise<number> {
  let values: { out?: string; seed?: string; help?: boolean };
  try {
    values = parseArgs({ args: argv, options: { out: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? 7 : Number(values.seed);
  if (!Number.isSafeInteger(seed)) {
    console.error(`--seed must be an integer\n${USAGE}`);
    return 2;
  }
  const outDir = path.resolve(values.out ?? path.join(os.tmpdir(), 'sluice-drift-demo'));
  const r = await runDriftDemo({ outDir, seed, say: (line) => console.log(line) });
  const closed = !r.falseAlarm && r.firedAt !== null && r.promotedAt !== null && r.webhook.signatureValid;
  console.log(
    closed
      ? `loop closed: shift at request ${r.shiftAt}, trigger after ${r.firedAt! - r.shiftAt} shifted requests, promoted at request ${r.promotedAt}`
      : `the loop did not close: ${JSON.stringify({ falseAlarm: r.falseAlarm, firedAt: r.firedAt, shadowAt: r.shadowAt, promotedAt: r.promotedAt, webhook: r.webhook })}`,
  );
  console.log(`repository and logs: ${path.dirname(r.repository)}`);
  return closed ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
