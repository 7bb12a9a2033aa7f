import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig } from '../src/config/config.js';

describe('config', () => {
  it('defaults serve ./models on 0.0.0.0:8000', () => {
    const c = loadConfig([], {});
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8000);
    expect(c.modelsDir).toBe(path.resolve('models'));
    expect(c.intraOpThreads).toBe(1);
    expect(c.allowSpinning).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
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

  it.each([
    [['--port', '70000'], {}, /--port must be an integer/],
    [['--port', 'abc'], {}, /--port must be an integer/],
    [['--nope'], {}, /unknown option --nope/],
    [['--host'], {}, /--host needs a value/],
    [[], { SLUICE_LOG_LEVEL: 'loud' }, /SLUICE_LOG_LEVEL must be one of/],
    [[], { SLUICE_ALLOW_SPINNING: 'maybe' }, /must be true or false/],
  ])('refuses %j %j with SLUICE_ERR_CONFIG_INVALID', (argv, env, msg) => {
    expect(() => loadConfig(argv, env)).toThrow(msg);
    try {
      loadConfig(argv, env);
    } catch (err) {
      expect((err as { code: string }).code).toBe('SLUICE_ERR_CONFIG_INVALID');
    }
  });
});
