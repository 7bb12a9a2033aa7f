// `sluice gpu install|uninstall|doctor`: the opt-in GPU pack (docs/gpu.md). Runs here, on this
// machine; it needs no server. doctor exits 0 when a cuda:N session can load, 1 when something
// it needs is missing, naming each missing piece exactly.
import { SluiceError } from '../errors.js';
import { installGpuPack, uninstallGpuPack } from '../gpu/install.js';
import { GPU_PACK } from '../gpu/pack.js';
import { gpuReport, type GpuReport } from '../gpu/report.js';
import { CliFailure, EXIT_REFUSED, usageError } from './failure.js';
import { formatOptionsHelp, parseCommandArgv, type OptionName } from './options.js';
import { formatTable } from './table.js';

const ACTIONS: Record<string, { options: OptionName[]; about: string }> = {
  install: {
    options: ['from', 'ort-dir', 'help'],
    about:
      `Fetches ${GPU_PACK.package}@${GPU_PACK.version} from the npm registry (npm pack, with npm's own\n` +
      'registry and proxy settings), checks its sha512 against package.json gpuPack.integrity, and puts\n' +
      "ONNX Runtime's CUDA provider beside libonnxruntime.so.1, where onnxruntime-node loads it.\n",
  },
  uninstall: { options: ['ort-dir', 'help'], about: 'Removes the provider files `sluice gpu install` put in place.\n' },
  doctor: {
    options: ['json', 'ort-dir', 'help'],
    about:
      'Reports what a cuda:N session needs and what this machine has: the paired onnxruntime-node, the\n' +
      "provider files, every CUDA library the provider loads (asked of the dynamic loader), the driver\n" +
      'and the device nodes. Exit 0: a cuda:N session can load; 1: something is missing.\n',
  },
};

function help(action?: string): string {
  if (action === undefined || !(action in ACTIONS)) {
    return `usage: sluice gpu install|uninstall|doctor [options]\n\nInstalls ONNX Runtime's CUDA provider, removes it, or checks what cuda:N needs (docs/gpu.md).\nsluice gpu <action> --help says more.\n`;
  }
  const a = ACTIONS[action]!;
  return `usage: sluice gpu ${action} [options]\n\n${a.about}\noptions:\n${formatOptionsHelp(a.options)}`;
}

/** What the gpu commands touch of the process (a part of run.ts's CliIo). */
export interface GpuIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
}

const mark = (ok: boolean, text: string): string => `${ok ? 'ok' : 'MISSING'}  ${text}`;

export function renderReport(r: GpuReport): string {
  const ort = r.onnxruntime;
  const rows: string[][] = [
    ['onnxruntime-node', mark(ort.version === ort.paired, `${ort.version} (the provider is built for ${ort.paired}) at ${ort.root}`)],
    ['GPU pack', r.installedPack ? `${r.installedPack.package}@${r.installedPack.version} (${r.installedPack.integrity.slice(0, 22)}…)` : 'not installed by `sluice gpu install`'],
    ...r.providerFiles.map((f) => ['provider file', mark(f.present, f.name)]),
    ...(r.provider ? [['provider load', mark(r.provider.error === undefined, r.provider.error ?? 'loads')]] : []),
    ...r.libraries.map((l) => [l.what, mark(l.error === undefined, l.error ?? l.soname)]),
    ['driver', mark(r.driver !== null, `${r.driver ?? 'no /proc/driver/nvidia/version (kernel driver not loaded)'} (CUDA ${GPU_PACK.cuda} needs ${GPU_PACK.minDriver} or newer)`)],
    ['devices', mark(r.devices.length > 0, r.devices.length > 0 ? r.devices.join(' ') : 'no /dev/nvidiaN')],
    ...(r.cudaVisibleDevices !== undefined ? [['CUDA_VISIBLE_DEVICES', r.cudaVisibleDevices]] : []),
  ];
  if (r.missing.length === 0) return `${formatTable(rows)}\ncuda:N sessions can load here.\n`;
  // One line per missing piece, then each remedy once with the pieces it brings.
  const byFix = new Map<string, string[]>();
  for (const m of r.missing) byFix.set(m.fix, [...(byFix.get(m.fix) ?? []), m.name]);
  return (
    `${formatTable(rows)}\ncuda:N sessions fall back to CPU here. Missing, the first one stops them first:\n` +
    r.missing.map((m, i) => `  ${i + 1}. ${m.name} (${m.what})\n`).join('') +
    'To get them:\n' +
    [...byFix].map(([fix, names]) => `  ${names.join(', ')}: ${fix}\n`).join('')
  );
}

async function runAction(action: string, values: Record<string, unknown>, io: GpuIo): Promise<number> {
  const onnxruntimeRoot = values['ort-dir'] as string | undefined;
  const root = onnxruntimeRoot === undefined ? {} : { onnxruntimeRoot };
  if (action === 'doctor') {
    const report = gpuReport({ ...root, ...(io.env.CUDA_VISIBLE_DEVICES === undefined ? {} : { cudaVisibleDevices: io.env.CUDA_VISIBLE_DEVICES }) });
    io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return report.missing.length === 0 ? 0 : EXIT_REFUSED;
  }
  if (action === 'install') {
    const from = values.from as string | undefined;
    const done = await installGpuPack({ ...root, ...(from === undefined ? {} : { from }), log: (l) => io.stdout(`${l}\n`) });
    io.stdout(`GPU pack ${GPU_PACK.package}@${GPU_PACK.version} installed in ${done.binDir}; \`sluice gpu doctor\` checks the rest.\n`);
    return 0;
  }
  const removed = await uninstallGpuPack(root);
  io.stdout(removed.length === 0 ? 'no GPU pack files to remove\n' : removed.map((f) => `removed ${f}\n`).join(''));
  return 0;
}

/** `sluice gpu ...` with the command name already taken off. */
export async function gpuMain(argv: readonly string[], io: GpuIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    io.stdout(help());
    return 0;
  }
  const spec = ACTIONS[action];
  if (spec === undefined) throw usageError(`gpu: unknown action "${action}"`, ['usage: sluice gpu install|uninstall|doctor [options]']);
  const { values, positionals } = parseCommandArgv(rest, spec.options);
  if (values.help) {
    io.stdout(help(action));
    return 0;
  }
  if (positionals.length > 0) throw usageError(`gpu ${action}: unexpected argument "${positionals[0]}"`, [`sluice gpu ${action} --help says more`]);
  try {
    return await runAction(action, values, io);
  } catch (err) {
    if (err instanceof SluiceError) throw new CliFailure(err.code, err.message);
    throw err;
  }
}
