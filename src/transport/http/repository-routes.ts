// Triton's repository extension, read-only part: POST /v2/repository/index on the data port.
// Loading and unloading belong to the admin listener, not here.
import type { DataPlane } from '../../dataplane/dataplane.js';
import { SluiceError } from '../../errors.js';
import { bodyHandler } from './body-route.js';
import { mediaType } from './headers.js';
import type { RouteTable } from './routes.js';

/** An index request is `{}` or `{"ready": true}`: a few bytes; anything near this is not one. */
export const INDEX_BODY_LIMIT_BYTES = 4096;

export function registerRepositoryRoutes(routes: RouteTable, dataplane: DataPlane): void {
  routes.add(
    'POST',
    '/v2/repository/index',
    bodyHandler<{ contentType: string }>({
      bodyLimitBytes: INDEX_BODY_LIMIT_BYTES,
      read: (_req, _conn, headers) => ({ contentType: mediaType(headers.contentType) }),
      start(ctx) {
        if (ctx.contentType !== '' && ctx.contentType !== 'application/json') {
          const got = ctx.contentType.slice(0, 64);
          throw new SluiceError('SLUICE_ERR_BODY_CONTENT_TYPE', `Content-Type "${got}" is not supported; the repository index takes application/json`);
        }
      },
      handle: (_ctx, body) => ({ status: 200, body: JSON.stringify(dataplane.repositoryIndex(body)) }),
    }),
  );
}
