// Unknown SLUICE_* variables: not an error (the environment is shared), but a typo must not pass
// silently, so each is a warning naming the closest known variable.
import { editDistance } from '../util/edit-distance.js';

/** One warning per SLUICE_* variable (any case) not in `known`, sorted by name. */
export function envWarnings(env: NodeJS.ProcessEnv, known: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!/^sluice_/i.test(name) || known.includes(name)) continue;
    const near = closest(name.toUpperCase(), known);
    out.push(`unknown environment variable ${name}${near ? ` (did you mean ${near}?)` : ''}`);
  }
  return out;
}

/** The known name nearest `name`, if near enough to be a likely typo. */
function closest(name: string, known: readonly string[]): string | undefined {
  // Beyond a third of the part after SLUICE_ (at least 2 edits), a suggestion is a guess.
  const maxEdits = Math.max(2, Math.floor((name.length - 'SLUICE_'.length) / 3));
  let best: string | undefined;
  let bestD = maxEdits + 1;
  for (const k of known) {
    const d = editDistance(name, k, maxEdits);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}
