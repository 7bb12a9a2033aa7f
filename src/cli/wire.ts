// The admin API's answers as the CLI reads them. Where the server declares its wire type, that
// type is used (type-only imports: nothing of the server loads); where it answers a plain record
// (the models list, the routing), the shape is declared here from docs/cli.md. Renderers still
// show NONE for a field that is missing or null, so an older or newer server never makes the CLI throw.
import type { ShadowReport, VersionWire } from '../dataplane/admin.js';
import type { ModelEvent } from '../dataplane/model-events.js';
import type { PairReport } from '../shadow/pair-stats.js';

export type { ModelEvent, PairReport, ShadowReport, VersionWire };

export interface ShadowShareWire {
  readonly version: string;
  readonly percent: number;
}

/** GET/PUT /admin/models/{m}/routing, promote, rollback; and each model's `routing` in the list. */
export interface RoutingWire {
  /** null: the newest READY version answers. */
  readonly primary: string | null;
  readonly shadows: readonly ShadowShareWire[];
  readonly previousPrimary?: string | null;
  /** ISO time the table last changed. */
  readonly since?: string;
}

export interface ModelWire {
  readonly name: string;
  readonly versions: readonly VersionWire[];
  readonly routing: RoutingWire;
  /** The model.json refusal (SluiceError wire form), or null. */
  readonly config_error?: { readonly error?: string; readonly code?: string; readonly details?: readonly string[] } | null;
}

export interface ModelsWire {
  readonly models: readonly ModelWire[];
}

export interface EventsWire {
  readonly events: readonly ModelEvent[];
}
