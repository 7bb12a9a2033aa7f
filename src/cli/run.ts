// `sluice <command> [options]`: finds the command (the first positional), parses the rest
// strictly for that command, answers --help, and runs it. Everything the process touches comes in
// through CliIo, so tests run the whole CLI in-process with a fake fetch and captured output.
import { parseArgs } from 'node:util';
import { CONFIG_OPTIONS } from '../config/config.js';
import { editDistance } from '../util/edit-distance.js';
import { AdminClient, type FetchFn } from './client.js';
import { COMMANDS, COMMON_OPTIONS, type AdminCommand } from './commands.js';
import { CliFailure, EXIT_REFUSED, usageError } from './failure.js';
import { formatOptionsHelp, OPTIONS, optionTable, parseCommandArgv, type OptionName } from './options.js';
import { DEFAULT_ADMIN_URL, resolveAdminTarget } from './target.js';

export interface CliIo {
  /** The environment: SLUICE_ADMIN_URL/SLUICE_ADMIN_TOKEN here, the SLUICE_* settings for serve. */
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** HTTP for the admin commands; global fetch by default. */
  readonly fetch?: FetchFn;
  /** The package version, for --version. */
  readonly version: string;
}

const SERVE = { name: 'serve', operands: [] as string[], summary: 'start the server (what npm start runs); sluice serve --help lists its settings' };
const TRAIN = { name: 'train', operands: ['<model>'], summary: 'run the reference retraining job on the prediction and feedback logs (docs/drift.md); sluice train --help' };
const GPU = { name: 'gpu', operands: ['install|uninstall|doctor'], summary: "this machine's GPU pack: install ONNX Runtime's CUDA provider, remove it, or check what cuda:N needs (docs/gpu.md)" };
const TOP_OPTIONS = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;

/** Every option any command takes, so the lenient pass that finds the command skips option values. */
const ALL_OPTIONS = { ...CONFIG_OPTIONS, ...optionTable(Object.keys(OPTIONS) as OptionName[]), ...TOP_OPTIONS };

function commandOptions(c: AdminCommand): OptionName[] {
  return [...c.options, ...COMMON_OPTIONS];
}

function usageLine(c: Pick<AdminCommand, 'name' | 'operands'>): string {
  return `usage: sluice ${[c.name, ...c.operands].join(' ')} [options]`;
}

export function topHelp(): string {
  const rows = [SERVE, TRAIN, GPU, ...COMMANDS].map((c) => [[c.name, ...c.operands].join(' '), c.summary] as const);
  const w = Math.max(...rows.map(([u]) => u.length));
  return (
    'usage: sluice <command> [options]\n\n' +
    "Starts the gateway (serve), runs a job on this machine (train, gpu), or asks a running gateway's\nadmin API (every other command).\n\n" +
    'commands:\n' +
    rows.map(([u, s]) => `  ${u.padEnd(w)}  ${s}\n`).join('') +
    '\noptions:\n' +
    '  -h, --help\n      print this help, or with a command its help, and exit\n' +
    '  --version\n      print the version and exit\n\n' +
    `Admin commands reach ${DEFAULT_ADMIN_URL} unless --url or SLUICE_ADMIN_URL says otherwise, and send\n` +
    'the bearer token of --token or SLUICE_ADMIN_TOKEN.\n' +
    'Exit status: 0 done; 1 the server refused or could not be reached; 2 a usage error.\n'
  );
}

export function commandHelp(c: AdminCommand): string {
  return (
    `${usageLine(c)}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.\n` +
    (c.about ? `\n${c.about}` : '') +
    `\noptions:\n${formatOptionsHelp(commandOptions(c))}`
  );
}

/** Splits off the command: the first positional, found by a lenient pass over every known option. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  const { tokens } = parseArgs({ args: [...argv], options: ALL_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional');
  if (!first || first.kind !== 'positional') return { name: undefined, rest: [...argv] };
  return { name: first.value, rest: argv.filter((_, i) => i !== first.index) };
}

function unknownCommand(name: string): CliFailure {
  const names = [SERVE.name, TRAIN.name, GPU.name, ...COMMANDS.map((c) => c.name)];
  const near = names.find((n) => editDistance(name, n, 2) <= 2);
  return usageError(`unknown command "${name}"${near ? ` (did you mean ${near}?)` : ''}`, ['sluice --help lists the commands']);
}

/**
 * Runs one command line (process.argv.slice(2)). Resolves with the exit status, or undefined for
 * `serve` once the server listens (it then owns the process: its signals and its exit).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  try {
    const { name, rest } = splitCommand(argv);
    if (name === undefined) return top(argv, io);
    if (name === SERVE.name) {
      // Imported only here: the gateway's modules (uWS, ONNX Runtime) are no cost to admin commands.
      const { serve } = await import('./serve.js');
      await serve(rest, { command: 'sluice serve', argvErrorExitCode: 2 }, io.env);
      return undefined;
    }
    if (name === TRAIN.name) {
      // Offline: the job reads the logs and writes the repository; it needs no server.
      const { retrainMain } = await import('../train/retrain-cli.js');
      return await retrainMain(rest, io.env, (l) => io.stdout(`${l}\n`), (l) => io.stderr(`${l}\n`));
    }
    if (name === GPU.name) {
      // This machine's GPU pack; no server involved.
      const { gpuMain } = await import('./gpu.js');
      return await gpuMain(rest, io);
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw unknownCommand(name);
    const { values, positionals } = parseCommandArgv(rest, commandOptions(command));
    if (values.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    if (positionals.length !== command.operands.length) {
      const what = positionals.length < command.operands.length
        ? `missing ${command.operands.slice(positionals.length).join(' ')}`
        : `unexpected argument "${positionals[command.operands.length]}"`;
      throw usageError(`${name}: ${what}`, [usageLine(command), `sluice ${name} --help says more`]);
    }
    const target = resolveAdminTarget({ url: values.url as string | undefined, token: values.token as string | undefined }, io.env);
    io.stdout(await command.run({ operands: positionals, values, client: new AdminClient(target, io.fetch) }));
    return 0;
  } catch (err) {
    if (err instanceof CliFailure) {
      io.stderr(err.text());
      return err.exitCode;
    }
    io.stderr(`sluice: internal error: ${String((err as Error)?.stack ?? err)}\n`);
    return EXIT_REFUSED;
  }
}

/** No command: --help, --version, or a usage error. */
function top(argv: readonly string[], io: CliIo): number {
  let values: { help?: boolean; version?: boolean };
  try {
    values = parseArgs({ args: [...argv], options: TOP_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch {
    throw usageError('missing command', ['usage: sluice <command> [options]', 'sluice --help lists the commands; sluice serve [options] starts the server']);
  }
  if (values.help) io.stdout(topHelp());
  else if (values.version) io.stdout(`${io.version}\n`);
  else throw usageError('missing command', ['usage: sluice <command> [options]', 'sluice --help lists the commands']);
  return 0;
}
