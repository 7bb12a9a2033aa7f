import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_FLAGS,
  CONFIG_OPTIONS,
  DEFAULT_CONFIG,
  formatSettingsHelp,
  loadConfig,
  NON_SETTING_ENV,
  parseArgv,
  resolveConfig,
} from '../src/config/config.js';

function refusal(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected SLUICE_ERR_CONFIG_INVALID, nothing was thrown');
}

describe('config', () => {
  it('defaults serve ./models on 0.0.0.0:8000', () => {
    const c = loadConfig([], {});
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8000);
    expect(c.modelsDir).toBe(path.resolve('models'));
    expect(c.intraOpThreads).toBe(1);
    expect(c.allowSpinning).toBe(false);
    expect(c.reusePort).toBe(false);
    expect(c.warnings).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.warnings)).toBe(true);
  });

  it('command line beats SLUICE_* environment, which beats defaults', () => {
    const env = { SLUICE_PORT: '9000', SLUICE_HOST: '127.0.0.1', SLUICE_WORKERS: '3' };
    const c = loadConfig(['--port', '9100', '--models=/tmp/m', '--allow-slow-http'], env);
    expect(c.port).toBe(9100);
    expect(c.host).toBe('127.0.0.1');
    expect(c.workers).toBe(3);
    expect(c.modelsDir).toBe('/tmp/m');
    expect(c.allowSlowHttp).toBe(true);
    expect(DEFAULT_CONFIG.port).toBe(8000);
  });

  it('takes `--flag value` and `--flag=value` alike; the last of a repeated flag wins', () => {
    const spaced = loadConfig(['--workers', '5', '--log-level', 'debug', '--host', 'h']);
    const joined = loadConfig(['--workers=5', '--log-level=debug', '--host=h']);
    expect(joined).toEqual(spaced);
    expect([spaced.workers, spaced.logLevel, spaced.host]).toEqual([5, 'debug', 'h']);
    expect(loadConfig(['--port', '1', '--port=2'], {}).port).toBe(2);
  });

  it('bool settings are presence flags; their variables take 1/true/yes/on or 0/false/no/off', () => {
    const c = loadConfig(['--allow-spinning', '--reuse-port'], {});
    expect([c.allowSpinning, c.reusePort, c.allowSlowHttp]).toEqual([true, true, false]);
    // No test-only switches in production config: the benchmark injects its slow run through model.json.
    expect(() => loadConfig(['--test-disable-batching'], {})).toThrow('unknown option --test-disable-batching');
    expect(loadConfig([], { SLUICE_REUSE_PORT: '1' }).reusePort).toBe(true);
    expect(loadConfig([], { SLUICE_REUSE_PORT: 'off' }).reusePort).toBe(false);
    expect(loadConfig(['--reuse-port'], { SLUICE_REUSE_PORT: 'no' }).reusePort).toBe(true);
  });

  it.each([
    [['--port', '70000'], {}, /--port must be an integer/],
    [['--port', 'abc'], {}, /--port must be an integer/],
    [['--nope'], {}, /unknown option --nope/],
    [['--host'], {}, /--host needs a value/],
    [[], { SLUICE_LOG_LEVEL: 'loud' }, /SLUICE_LOG_LEVEL must be one of/],
    [[], { SLUICE_ALLOW_SPINNING: 'maybe' }, /must be true or false/],
    // What parseArgs makes strict beside unknown options:
    [['--nope=1'], {}, /^unknown option --nope$/],
    [['-p', '80'], {}, /^unknown option -p$/],
    [['--help'], {}, /^unknown option --help$/], // loadConfig knows settings only; main.ts adds --help
    [['--port', '--host', 'h'], {}, /^--port needs a value, got the option-like "--host"/],
    [['--allow-spinning=false'], {}, /^--allow-spinning is a presence flag and takes no value, got "false"$/],
    [['--allow-spinning', 'false'], {}, /^unexpected argument "false"$/],
    [['serve'], {}, /^unexpected argument "serve"$/],
    [['--host='], {}, /^--host must not be empty$/],
  ])('refuses %j %j with SLUICE_ERR_CONFIG_INVALID', (argv, env, msg) => {
    expect(() => loadConfig(argv, env)).toThrow(msg);
    expect(refusal(() => loadConfig(argv, env)).code).toBe('SLUICE_ERR_CONFIG_INVALID');
  });

  it('keeps parseArgs’ own error as the cause of a refused command line', () => {
    const err = refusal(() => loadConfig(['--nope'], {})) as { cause?: { code?: string } };
    expect(err.cause?.code).toBe('ERR_PARSE_ARGS_UNKNOWN_OPTION');
  });

  it('parseArgv parses extra options beside the settings, which resolveConfig then ignores', () => {
    const extra = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;
    const parsed = parseArgv(['-h', '--port=1', '--reuse-port'], { extra });
    expect(parsed.values).toEqual({ help: true, port: '1', 'reuse-port': true });
    const c = resolveConfig(parsed.values, {});
    expect([c.port, c.reusePort]).toEqual([1, true]);
    expect(c).not.toHaveProperty('help');
    // Values are not validated by parsing: `--help --port x` can still print help.
    expect(parseArgv(['--help', '--port', 'x'], { extra }).values.port).toBe('x');
    expect(parseArgv(['serve', '--port', '1'], { allowPositionals: true }).positionals).toEqual(['serve']);
  });

  it('derives the parseArgs options from the one table: a presence flag per bool, a value otherwise', () => {
    expect(Object.keys(CONFIG_OPTIONS).map((n) => `--${n}`)).toEqual(CONFIG_FLAGS.map((f) => f.flag));
    expect(CONFIG_OPTIONS['reuse-port']).toEqual({ type: 'boolean' });
    expect(CONFIG_OPTIONS.port).toEqual({ type: 'string' });
    expect(CONFIG_FLAGS).toContainEqual({ flag: '--reuse-port', env: 'SLUICE_REUSE_PORT' });
  });

  it('warns of an unknown SLUICE_* variable, naming the closest known one', () => {
    const c = loadConfig([], { SLUICE_WORKER: '4', SLUICE_POTR: '1', SLUICE_FROBNICATE: 'x', sluice_port: '1', SLUICE_PORT: '9', HOME: '/' });
    expect(c.warnings).toEqual([
      'unknown environment variable SLUICE_FROBNICATE',
      'unknown environment variable SLUICE_POTR (did you mean SLUICE_PORT?)',
      'unknown environment variable SLUICE_WORKER (did you mean SLUICE_WORKERS?)',
      'unknown environment variable sluice_port (did you mean SLUICE_PORT?)',
    ]);
    expect(c.workers).toBe(DEFAULT_CONFIG.workers); // an unknown variable changes nothing
    expect(c.port).toBe(9);
  });

  it('hands on the environment it was given, for the children sluice starts', () => {
    const env = { PATH: '/bin', HOME: '/h', SLUICE_PORT: '9' };
    expect(loadConfig([], env).childEnv).toBe(env);
  });

  it('does not warn of the variables read elsewhere, nor of any setting', () => {
    expect(NON_SETTING_ENV).toEqual(['SLUICE_ADMIN_URL']);
    const known = { SLUICE_ADMIN_TOKEN: 't', SLUICE_ADMIN_URL: 'http://x', SLUICE_PORT: '1', SLUICE_REUSE_PORT: '1', SLUICE_LOG_LEVEL: 'warn' };
    expect(loadConfig([], known).warnings).toEqual([]);
    // A near miss of a non-setting is still a typo worth naming.
    expect(loadConfig([], { SLUICE_ADMIN_TOKN: 't' }).warnings).toEqual([
      'unknown environment variable SLUICE_ADMIN_TOKN (did you mean SLUICE_ADMIN_TOKEN?)',
    ]);
  });

  it('the settings help names every flag with its variable, default and meaning', () => {
    const help = formatSettingsHelp();
    for (const { flag, env } of CONFIG_FLAGS) expect(help).toMatch(new RegExp(`^  ${flag}\\b.*  ${env}  default: \\S.*\\n      \\S`, 'm'));
    expect(help).toContain('  --reuse-port  SLUICE_REUSE_PORT  default: off\n      share the port with another process');
    expect(help).toContain('  --port P  SLUICE_PORT  default: 8000\n      listen port (0 picks a free one); 0..65535\n');
  });

  it('the README Configuration table lists every setting with its variable', () => {
    const readme = readFileSync(path.resolve('README.md'), 'utf8');
    for (const { flag, env } of CONFIG_FLAGS) {
      expect(readme).toMatch(new RegExp(`^\\| \`${flag}( [A-Z]+)?\` \\| \`${env}\` \\|`, 'm'));
    }
  });
});
