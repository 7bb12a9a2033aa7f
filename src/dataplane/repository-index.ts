// Triton's model repository index (POST /v2/repository/index): every known version of every
// model with its state and the reason for it, read-only. Transport-agnostic: the request body
// arrives as bytes and is decoded here, like an inference body.
//
// Shape (Triton's): `[{"name", "version", "state", "reason"}, ...]`, models by name, versions in
// ascending order; `version` is a string. A model the repository knows with no version entry
// (a model.json without a version directory, or one whose model.json never parsed) is listed
// once without `version`, as UNAVAILABLE with the reason. `{"ready": true}` lists only READY
// versions.
import { parseJsonBody } from '../codec/json-body.js';
import { SluiceError } from '../errors.js';
import type { ModelEntry } from '../repository/repository.js';
import type { ModelState } from '../types.js';

export interface RepositoryIndexEntry {
  name: string;
  /** Absent for a model with no version entry. */
  version?: string;
  state: ModelState;
  /** '' when there is nothing to say (a READY version that serves its current files). */
  reason: string;
}

export interface RepositoryIndexRequest {
  /** Only READY versions. */
  readyOnly: boolean;
}

/** What the index reads of the repository (a fake in unit tests). */
export interface IndexedRepository {
  list(): readonly ModelEntry<unknown>[];
}

/** Why a model with no version entry cannot serve, when the repository kept no error for it. */
export const NO_VERSION_REASON = 'no version directory with a model.onnx';

/**
 * Decodes an index request body: empty (or only whitespace), `{}` or `{"ready": <boolean>}`;
 * other keys are ignored (Triton's request has only `ready`). Throws SluiceError 400: the JSON
 * decoder's codes, or SLUICE_ERR_REQUEST_INVALID when `ready` is not a boolean.
 */
export function parseIndexRequest(body: Uint8Array): RepositoryIndexRequest {
  if (isBlank(body)) return { readyOnly: false };
  const parsed = parseJsonBody(body);
  const ready = parsed.ready;
  if (ready !== undefined && typeof ready !== 'boolean') {
    throw new SluiceError('SLUICE_ERR_REQUEST_INVALID', 'repository index request: "ready" must be a boolean', { details: ['/ready: expected boolean'] });
  }
  return { readyOnly: ready === true };
}

/** The index of `repository` now. */
export function repositoryIndex(repository: IndexedRepository, request: RepositoryIndexRequest): RepositoryIndexEntry[] {
  const out: RepositoryIndexEntry[] = [];
  for (const model of repository.list()) {
    if (model.versions.size === 0) {
      if (!request.readyOnly) out.push({ name: model.name, state: 'UNAVAILABLE', reason: model.configError?.message ?? NO_VERSION_REASON });
      continue;
    }
    for (const v of [...model.versions.values()].sort((a, b) => a.version - b.version)) {
      if (request.readyOnly && v.state !== 'READY') continue;
      out.push({ name: model.name, version: String(v.version), state: v.state, reason: v.reason ?? '' });
    }
  }
  return out;
}

function isBlank(body: Uint8Array): boolean {
  for (const b of body) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return true;
}
