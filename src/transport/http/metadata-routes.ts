// Synchronous GET endpoints (server and model metadata, health) and the 404/405 fallbacks.
import type { HttpRequest, TemplatedApp } from 'uWebSockets.js';
import { SluiceError, toSluiceError } from '../../errors.js';
import type { DataPlane } from '../../dataplane/dataplane.js';
import { errorAnswer, send, type Answer } from './respond.js';

export function parseVersion(raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new SluiceError('SLUICE_ERR_MODEL_VERSION_NOT_FOUND', `"${raw.slice(0, 32)}" is not a model version`);
  }
  return Number(raw);
}

export function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const ok = (body: unknown): Answer => ({ status: 200, body: JSON.stringify(body) });

export function registerMetadataRoutes(app: TemplatedApp, dataplane: DataPlane): void {
  const get = (pattern: string, handler: (req: HttpRequest) => Answer): void => {
    app.get(pattern, (res, req) => {
      const state = { aborted: false };
      try {
        send(res, state, handler(req));
      } catch (err) {
        send(res, state, errorAnswer(toSluiceError(err)));
      }
    });
  };
  const model = (req: HttpRequest): string => decodeParam(req.getParameter(0));
  const modelReady = (name: string, version?: number): Answer => {
    const r = dataplane.modelReady(name, version);
    return { status: r.ready ? 200 : 503, body: JSON.stringify(r) };
  };

  get('/v2', () => ok(dataplane.serverMetadata()));
  get('/v2/health/live', () => ({ status: dataplane.isLive() ? 200 : 503, body: JSON.stringify({ live: dataplane.isLive() }) }));
  get('/v2/health/ready', () => {
    const ready = dataplane.isReady();
    return { status: ready ? 200 : 503, body: JSON.stringify({ ready }) };
  });
  get('/v2/models/:model/ready', (req) => modelReady(model(req)));
  get('/v2/models/:model/versions/:version/ready', (req) => modelReady(model(req), parseVersion(req.getParameter(1))));
  get('/v2/models/:model/schema', (req) => ok(dataplane.schema(model(req))));
  get('/v2/models/:model/config', (req) => ok(dataplane.modelConfig(model(req))));
  get('/v2/models/:model/versions/:version/config', (req) => ok(dataplane.modelConfig(model(req), parseVersion(req.getParameter(1)))));
  get('/v2/models/:model', (req) => ok(dataplane.modelMetadata(model(req))));
  get('/v2/models/:model/versions/:version', (req) => ok(dataplane.modelMetadata(model(req), parseVersion(req.getParameter(1)))));
}

/** 405 for known paths with another method, 404 for everything else. Register last. */
export function registerFallback(app: TemplatedApp, known: { pattern: string; allow: string }[]): void {
  for (const { pattern, allow } of known) {
    app.any(pattern, (res, req) => {
      const method = req.getMethod().toUpperCase();
      const err = new SluiceError('SLUICE_ERR_HTTP_METHOD_NOT_ALLOWED', `${method} is not allowed on ${req.getUrl().slice(0, 200)}`);
      send(res, { aborted: false }, errorAnswer(err, [['allow', allow]]));
    });
  }
  app.any('/*', (res, req) => {
    const err = new SluiceError('SLUICE_ERR_HTTP_ROUTE_NOT_FOUND', `no endpoint ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}`);
    send(res, { aborted: false }, errorAnswer(err));
  });
}
