// The data port's MLOps endpoints: POST /v2/models/{m}/feedback (ground-truth labels by request id,
// dataplane/feedback.ts) and GET /v2/models/{m}/drift (the model's drift report, docs/drift.md).
import type { DataPlane } from '../../dataplane/dataplane.js';
import { SluiceError } from '../../errors.js';
import { bodyHandler } from './body-route.js';
import { mediaType } from './headers.js';
import { jsonGet, ok } from './json-get.js';
import { decodeParam } from './params.js';
import type { RouteTable } from './routes.js';

/** A thousand labels with long ids fit well within this. */
export const FEEDBACK_BODY_LIMIT_BYTES = 1 << 20;

export function registerFeedbackRoutes(routes: RouteTable, dataplane: DataPlane): void {
  routes.add(
    'POST',
    '/v2/models/:model/feedback',
    bodyHandler<{ model: string; contentType: string }>({
      bodyLimitBytes: FEEDBACK_BODY_LIMIT_BYTES,
      read: (req, _conn, headers) => ({ model: decodeParam(req.getParameter(0) ?? ''), contentType: mediaType(headers.contentType) }),
      start(ctx) {
        if (ctx.contentType !== '' && ctx.contentType !== 'application/json') {
          throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', `Content-Type "${ctx.contentType.slice(0, 64)}" is not supported; feedback takes application/json`);
        }
        dataplane.modelReady(ctx.model); // 404 for an unknown model, before the body is read
      },
      handle: (ctx, body) => ({ status: 200, body: JSON.stringify(dataplane.feedback(ctx.model, body)) }),
    }),
  );
  jsonGet(routes, '/v2/models/:model/drift', (req) => ok(dataplane.drift(decodeParam(req.getParameter(0) ?? ''))));
}
