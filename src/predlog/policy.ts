// What a model's prediction events copy (DESIGN §8): model.json `predictionLog` over the
// process-wide flags. Redacting a named feature nulls its column of the features input; redacting
// an input tensor's name leaves the tensor out.
import type { SluiceSettings } from '../config/config.js';
import type { EventPolicy } from '../dataplane/prediction-event.js';
import type { ModelFile } from '../repository/model-file.js';

type Flags = Pick<SluiceSettings, 'predictionLogInputSample' | 'predictionLogMaxValues'>;

/** `track`: copy the features input whole into every event, for the drift monitor. */
export function eventPolicyOf(file: ModelFile | undefined, flags: Flags, track = false): EventPolicy {
  const own = file?.predictionLog;
  const redact = own?.redact ?? [];
  const features = file?.features ?? [];
  const featuresInput = file?.featuresInput ?? (file?.inputs?.length === 1 ? file.inputs[0]!.name : undefined);
  const columns = features.flatMap((f, i) => (redact.includes(f.name) ? [i] : []));
  return Object.freeze({
    inputSampleRate: own?.inputSampleRate ?? flags.predictionLogInputSample,
    redact: redact.filter((name) => !features.some((f) => f.name === name)),
    ...(columns.length > 0 && featuresInput !== undefined ? { redactColumns: new Map([[featuresInput, columns]]) } : {}),
    maxValues: own?.maxValues ?? flags.predictionLogMaxValues,
    ...(track && featuresInput !== undefined ? { trackInput: featuresInput } : {}),
  });
}

/** Per model file (a new object after every reload) and tracking choice, the policy built once. */
export function cachedEventPolicy(flags: Flags): (file: ModelFile | undefined, track?: boolean) => EventPolicy {
  const cache = new WeakMap<ModelFile, [EventPolicy | undefined, EventPolicy | undefined]>();
  const none = eventPolicyOf(undefined, flags);
  return (file, track = false) => {
    if (file === undefined) return none;
    let pair = cache.get(file);
    if (pair === undefined) cache.set(file, (pair = [undefined, undefined]));
    const i = track ? 1 : 0;
    return (pair[i] ??= eventPolicyOf(file, flags, track));
  };
}
