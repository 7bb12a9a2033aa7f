// Against a sluice the image started (rehearse-image.sh): one prediction, then 16 clients of
// 64-row requests; SIGTERM to the container's PID 1 (tini) while they run. Every request the server
// accepted must be answered 200 (or refused with 503 SLUICE_ERR_SHUTTING_DOWN, or by a closed port
// once it stopped listening), and the process must exit 0. Prints one JSON line; exit 1 on a failure.
//   node drain-check.mjs <port> <pid of PID 1, as this namespace sees it>
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const [port, pid] = process.argv.slice(2).map(Number);
const url = `http://127.0.0.1:${port}`;
const rows = gunzipSync(readFileSync(new URL('../../models/digits/data/digits.csv.gz', import.meta.url)))
  .toString('utf8').trim().split('\n').slice(0, 64).map((l) => l.split(',').slice(0, 64).map(Number));
const body = JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'FP32', shape: [64, 64], data: rows }] });
const post = () => fetch(`${url}/v2/models/digits/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

const first = await post();
const answer = await first.json();
if (first.status !== 200 || answer.outputs?.length !== 2) throw new Error(`first prediction: ${first.status} ${JSON.stringify(answer).slice(0, 200)}`);
const outcomes = { ok: 0, refused: 0, failed: [] };
const client = async () => {
  for (;;) {
    try {
      const r = await post();
      const j = await r.json().catch(() => null);
      if (r.status === 200) outcomes.ok++;
      else if (r.status === 503 && j?.code === 'SLUICE_ERR_SHUTTING_DOWN') return void outcomes.refused++;
      else outcomes.failed.push(`${r.status} ${j?.code}`);
    } catch (err) {
      if (err?.cause?.code === 'ECONNREFUSED') return void outcomes.refused++;
      outcomes.failed.push(String(err?.cause?.code ?? err));
    }
  }
};
const clients = Array.from({ length: 16 }, client);
while (outcomes.ok < 50) await new Promise((r) => setTimeout(r, 20));
process.kill(pid, 'SIGTERM');
await Promise.all(clients);
console.log(JSON.stringify({ firstPrediction: answer.outputs.map((o) => o.name), ...outcomes }));
process.exitCode = outcomes.failed.length === 0 ? 0 : 1;
