// How a CLI command fails: one line on stderr, `sluice: <code>: <message>`, each detail indented
// below it, and an exit status that tells a script what kind of failure it was.
//
// The code is the server's SLUICE_ERR_* code when the server refused; SLUICE_ERR_CONFIG_INVALID
// for a command line the CLI refuses (the code parseArgv already uses for the server's options);
// the system's code (ECONNREFUSED, ENOTFOUND, ...) when the admin API could not be reached; and
// HTTP_<status> for an answer that is not the gateway's JSON error (a proxy in between).

/** Exit statuses: 0 success; these two are the only others. */
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

export class CliFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: readonly string[] = [],
    readonly exitCode: typeof EXIT_REFUSED | typeof EXIT_USAGE = EXIT_REFUSED,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CliFailure';
  }

  /** What stderr gets: the line, then each detail indented by two spaces. */
  text(): string {
    return `sluice: ${this.code}: ${this.message}\n${this.details.map((d) => `  ${d}\n`).join('')}`;
  }
}

/** A command line the CLI refuses (exit 2); `details` say how to write it instead. */
export function usageError(message: string, details: readonly string[] = []): CliFailure {
  return new CliFailure('SLUICE_ERR_CONFIG_INVALID', message, details, EXIT_USAGE);
}
