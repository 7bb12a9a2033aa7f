// Baseline: what a Node user would write with uWebSockets.js — parse the OIP JSON body and
// call session.run once per request on the main thread. No batching, no workers, minimal
// validation. Started as its own process by the bench runner:
// `node naive-uws.js PORT MODEL_NAME MODEL_PATH INPUT_NAME WIDTH`.
import { createRequire } from 'node:module';
import { openNaiveModel } from './naive-model.js';

const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof import('uWebSockets.js');
const model = await openNaiveModel();

const app = uws.App();
app.get('/v2/health/ready', (res) => {
  res.end('{"ready":true}');
});
app.post('/v2/models/:model/infer', (res) => {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    void (async () => {
      try {
        const json = JSON.stringify(await model.infer(JSON.parse(Buffer.concat(chunks).toString())));
        if (!aborted) res.cork(() => res.writeHeader('content-type', 'application/json').end(json));
      } catch (err) {
        if (!aborted) res.cork(() => res.writeStatus('400 Bad Request').end(JSON.stringify({ error: String(err) })));
      }
    })();
  });
});
app.listen('127.0.0.1', model.port, (token) => {
  if (!token) process.exit(1);
  process.stdout.write('listening\n');
});
