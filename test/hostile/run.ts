/**
 * The longer hostile-input run, one command against a running `gba-sim up`:
 *
 *   npx tsx test/hostile/run.ts --seed 1 --count 50000 --endpoints .gba-sim/endpoints.json [--json FILE]
 *
 * Prints the report (inputs and outcomes per target, server errors, NF restarts, memory before/after per NF) as
 * Markdown; exits 1 when any input got a server error, an NF restarted or the network is not healthy afterwards.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { reportMarkdown, runCampaign } from './campaign.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    count: { type: 'string', default: '5000' },
    endpoints: { type: 'string', default: '.gba-sim/endpoints.json' },
    json: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
  },
});
const seed = Number(values.seed),
  count = Number(values.count);
if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: run.ts --seed S --count N --endpoints FILE [--json FILE]\n');
  process.exit(2);
}
const r = await runCampaign({
  endpointsFile: values.endpoints!,
  seed,
  count,
  concurrency: Number(values.concurrency),
  progress: (l) => process.stderr.write(`${l}\n`),
});
process.stdout.write(`${reportMarkdown(r)}\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(r, null, 2)}\n`);
process.exit(r.serverErrors === 0 && r.restarts.after === r.restarts.before && r.healthyAfter ? 0 : 1);
