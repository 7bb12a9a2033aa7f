// Freezing parsed configuration all the way down (STYLE: validate once, then freeze), shared by
// the model.json parser and the drift reference parser.

/** Freezes `o` and every object under it; returns `o`. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
