// The CI benchmark gate, as pure logic: ratios measured in one run (sluice over a baseline
// measured beside it) against the floors in bench/floors.json. No absolute times: a slower
// machine slows sluice and its baselines alike, a slower sluice moves only the ratios.

export interface Floor {
  /** The gate fails when the measured ratio is below this. */
  min: number;
  /** The medians this floor was set from (documentation; not used by the check). */
  setFrom?: number[];
  /** What sluice scored with batching disabled (documentation: the floor must sit above it). */
  slowOnPurpose?: number[];
}

/** bench/floors.json: floors per load generator (autocannon shares the server's cores, wrk mostly not). */
export interface FloorFile {
  note?: string;
  generators: Record<string, Record<string, Floor>>;
}

export interface GateVerdict {
  passed: boolean;
  /** One line per floor (and per unexpected ratio or error count), for the log. */
  lines: string[];
  failures: string[];
}

/** Validates the parsed floors file and returns the floors for `generator`; throws on a bad file. */
export function floorsFor(json: unknown, generator: string): Record<string, Floor> {
  const file = json as FloorFile;
  if (typeof file !== 'object' || file === null || typeof file.generators !== 'object' || file.generators === null) {
    throw new Error('floors file: expected {"generators": {"<generator>": {"<ratio name>": {"min": number}}}}');
  }
  const floors = file.generators[generator];
  if (typeof floors !== 'object' || floors === null || Object.keys(floors).length === 0) {
    throw new Error(`floors file: no floors for generator "${generator}"`);
  }
  for (const [name, floor] of Object.entries(floors)) {
    if (typeof floor?.min !== 'number' || !Number.isFinite(floor.min) || floor.min <= 0) {
      throw new Error(`floors file: ${generator} "${name}".min must be a positive number`);
    }
  }
  return floors;
}

/**
 * Every floor must have a finite measured ratio at or above its min, and no target may have
 * answered with errors. A measured ratio without a floor is reported, not failed.
 */
export function evaluateGate(
  ratios: Readonly<Record<string, number>>,
  floors: Readonly<Record<string, Floor>>,
  errors: Readonly<Record<string, number>> = {},
): GateVerdict {
  const lines: string[] = [];
  const failures: string[] = [];
  for (const [name, floor] of Object.entries(floors)) {
    const value = ratios[name];
    if (value === undefined || !Number.isFinite(value)) {
      failures.push(`${name}: not measured`);
      lines.push(`FAIL ${name}: not measured (floor ${floor.min})`);
    } else if (value < floor.min) {
      failures.push(`${name}: ${value.toFixed(2)} < floor ${floor.min}`);
      lines.push(`FAIL ${name}: ${value.toFixed(2)} is below its floor ${floor.min}`);
    } else {
      lines.push(`ok   ${name}: ${value.toFixed(2)} ≥ floor ${floor.min}`);
    }
  }
  for (const name of Object.keys(ratios)) {
    if (!(name in floors)) lines.push(`info ${name}: ${ratios[name]!.toFixed(2)} (no floor)`);
  }
  for (const [label, count] of Object.entries(errors)) {
    if (count > 0) {
      failures.push(`${label}: ${count} failed requests`);
      lines.push(`FAIL ${label}: ${count} requests failed (non-2xx, socket error or timeout)`);
    }
  }
  return { passed: failures.length === 0, lines, failures };
}
