// Every option an admin command may take, declared once: the parseArgs table of each command and
// its --help lines are both derived from OPTIONS, so the two cannot drift.
import { parseArgs } from 'node:util';
import { DEFAULT_ADMIN_URL } from './target.js';
import { usageError } from './failure.js';

interface OptionDecl {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in --help. */
  readonly arg?: string;
  readonly help: string;
}

export const OPTIONS = {
  url: { type: 'string', arg: 'URL', help: `admin API base URL; else SLUICE_ADMIN_URL, else ${DEFAULT_ADMIN_URL}` },
  token: { type: 'string', arg: 'TOKEN', help: 'admin bearer token; else SLUICE_ADMIN_TOKEN (prefer the variable: a flag shows in ps and shell history)' },
  json: { type: 'boolean', help: "print the server's JSON answer as it came instead of a table" },
  primary: { type: 'string', arg: 'V', help: 'make version V the primary (it answers requests)' },
  shadow: {
    type: 'string', multiple: true, arg: 'V=P',
    help: 'mirror P percent (0 to 100, decimals allowed) of requests to version V; repeat for several; replaces the current shadows',
  },
  'no-shadows': { type: 'boolean', help: 'remove every shadow' },
  from: { type: 'string', arg: 'FILE', help: 'install from this tarball (made by `npm pack` on a connected machine) instead of fetching it' },
  'ort-dir': { type: 'string', arg: 'DIR', help: "an onnxruntime-node package folder other than the one sluice loads" },
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
} as const satisfies Record<string, OptionDecl>;

export type OptionName = keyof typeof OPTIONS;

/** Parsed values by option name: a presence flag is true, a value its string, a repeatable one a list. */
export type OptionValues = Readonly<Partial<Record<OptionName, string | boolean | string[]>>>;

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'] & object;

export function optionTable(names: readonly OptionName[]): ParseArgsOptions {
  return Object.fromEntries(
    names.map((n) => {
      const d: OptionDecl = OPTIONS[n];
      return [n, { type: d.type, ...(d.short ? { short: d.short } : {}), ...(d.multiple ? { multiple: true } : {}) }];
    }),
  );
}

/** The options part of a command's --help: the flag and placeholder, then the meaning indented. */
export function formatOptionsHelp(names: readonly OptionName[]): string {
  return names
    .map((n) => {
      const d: OptionDecl = OPTIONS[n];
      const flag = `${d.short ? `-${d.short}, ` : ''}--${n}${d.arg ? ` ${d.arg}` : ''}`;
      return `  ${flag}\n      ${d.help}\n`;
    })
    .join('');
}

/**
 * Parses `argv` strictly against `names`, positionals allowed. A refused argument throws a usage
 * error (exit 2) naming it: "unknown option --x", "--url needs a value", "--json takes no value".
 */
export function parseCommandArgv(
  argv: readonly string[],
  names: readonly OptionName[],
): { values: OptionValues; positionals: string[] } {
  const options = optionTable(names);
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { values: values as OptionValues, positionals };
  } catch (err) {
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw err;
    throw usageError(describeRefusal(argv, options) ?? (err as Error).message);
  }
}

/** Our sentence for the first argument strict parsing refused, found in a lenient pass's tokens. */
function describeRefusal(argv: readonly string[], options: ParseArgsOptions): string | undefined {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (spec === undefined) return `unknown option ${t.rawName}`;
    if (spec.type === 'boolean' && t.value !== undefined) return `${t.rawName} takes no value, got "${t.value}"`;
    if (spec.type === 'string' && t.value === undefined) return `${t.rawName} needs a value`;
    if (spec.type === 'string' && !t.inlineValue && t.value?.startsWith('-')) {
      return `${t.rawName} needs a value, got the option-like "${t.value}" (write ${t.rawName}=${t.value} if that is the value)`;
    }
  }
  return undefined;
}
