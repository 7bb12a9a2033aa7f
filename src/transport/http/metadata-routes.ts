// Synchronous GET endpoints: server and model metadata, health (also HEAD, for probes),
// readiness, config and schema.
import type { HttpRequest } from 'uWebSockets.js';
import type { DataPlane } from '../../dataplane/dataplane.js';
import { jsonGet, ok } from './json-get.js';
import { decodeParam, parseVersion } from './params.js';
import type { Answer } from './respond.js';
import type { RouteTable } from './routes.js';

export function registerMetadataRoutes(routes: RouteTable, dataplane: DataPlane): void {
  const model = (req: HttpRequest): string => decodeParam(req.getParameter(0));
  const version = (req: HttpRequest): number => parseVersion(req.getParameter(1));
  const modelReady = (name: string, v?: number): Answer => {
    const r = dataplane.modelReady(name, v);
    return { status: r.ready ? 200 : 503, body: JSON.stringify(r) };
  };
  const probe = { head: true };

  jsonGet(routes, '/v2', () => ok(dataplane.serverMetadata()), probe);
  jsonGet(routes, '/v2/health/live', () => {
    const live = dataplane.isLive();
    return { status: live ? 200 : 503, body: JSON.stringify({ live }) };
  }, probe);
  jsonGet(routes, '/v2/health/ready', () => {
    const ready = dataplane.isReady();
    return { status: ready ? 200 : 503, body: JSON.stringify({ ready }) };
  }, probe);
  jsonGet(routes, '/v2/models/:model/ready', (req) => modelReady(model(req)));
  jsonGet(routes, '/v2/models/:model/versions/:version/ready', (req) => modelReady(model(req), version(req)));
  jsonGet(routes, '/v2/models/:model/schema', (req) => ok(dataplane.schema(model(req))));
  jsonGet(routes, '/v2/models/:model/config', (req) => ok(dataplane.modelConfig(model(req))));
  jsonGet(routes, '/v2/models/:model/versions/:version/config', (req) => ok(dataplane.modelConfig(model(req), version(req))));
  jsonGet(routes, '/v2/models/:model', (req) => ok(dataplane.modelMetadata(model(req))));
  jsonGet(routes, '/v2/models/:model/versions/:version', (req) => ok(dataplane.modelMetadata(model(req), version(req))));
}
