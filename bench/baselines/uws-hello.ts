// The HTTP ceiling: uWebSockets.js reading the same POST bodies and answering a fixed small
// JSON, no parsing and no inference. Nothing served over uWS on this machine can beat it.
// `node uws-hello.js PORT`
import { createRequire } from 'node:module';

const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof import('uWebSockets.js');
const [portArg] = process.argv.slice(2);
const ANSWER = '{"model_name":"hello","model_version":"1","outputs":[]}';

const app = uws.App();
app.get('/v2/health/ready', (res) => {
  res.end('{"ready":true}');
});
app.post('/*', (res) => {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  // Drain the body (uWS requires it before answering a POST); the bytes are not looked at.
  res.onData((_chunk, isLast) => {
    if (isLast && !aborted) res.cork(() => res.writeHeader('content-type', 'application/json').end(ANSWER));
  });
});
app.listen('127.0.0.1', Number(portArg), (token) => {
  if (!token) process.exit(1);
  process.stdout.write('listening\n');
});
