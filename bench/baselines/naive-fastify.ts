// Baseline: the code a Node user would write with fastify — its JSON body parser, one
// session.run per request on the main thread, the answer serialised by fastify. No batching,
// no workers, minimal validation. Started as its own process by the bench runner:
// `node naive-fastify.js PORT MODEL_NAME MODEL_PATH INPUT_NAME WIDTH`.
import Fastify from 'fastify';
import { openNaiveModel, type InferBody } from './naive-model.js';

const model = await openNaiveModel();
const app = Fastify({ logger: false });
app.get('/v2/health/ready', async () => ({ ready: true }));
app.post<{ Body: InferBody }>('/v2/models/:model/infer', (request) => model.infer(request.body));
await app.listen({ host: '127.0.0.1', port: model.port });
process.stdout.write('listening\n');
