// The admin settings: --admin-host / --admin-port like any setting; the token from
// SLUICE_ADMIN_TOKEN only, never a flag, never in --help.
import { expect, it } from 'vitest';
import { CONFIG_FLAGS, DEFAULT_CONFIG, formatSettingsHelp, loadConfig, NON_SETTING_ENV } from '../src/config/config.js';

it('the admin listener defaults to loopback 127.0.0.1:8001, off without a token', () => {
  const c = loadConfig([], {});
  expect([c.adminHost, c.adminPort, c.adminToken]).toEqual(['127.0.0.1', 8001, undefined]);
  expect(DEFAULT_CONFIG.adminToken).toBeUndefined();
  const set = loadConfig(['--admin-port', '9001'], { SLUICE_ADMIN_HOST: '0.0.0.0', SLUICE_ADMIN_PORT: '9002' });
  expect([set.adminHost, set.adminPort]).toEqual(['0.0.0.0', 9001]);
  expect(loadConfig(['--admin-port=0'], {}).adminPort).toBe(0);
  expect(() => loadConfig(['--admin-port', '65536'], {})).toThrow(/--admin-port must be an integer in \[0, 65535\]/);
});

it('the token comes from SLUICE_ADMIN_TOKEN only: no flag, not in --help, no warning', () => {
  const c = loadConfig([], { SLUICE_ADMIN_TOKEN: 's3cr3t-t0ken' });
  expect(c.adminToken).toBe('s3cr3t-t0ken');
  expect(c.warnings).toEqual([]);
  expect(() => loadConfig(['--admin-token', 'x'], {})).toThrow(/^unknown option --admin-token$/);
  expect(CONFIG_FLAGS.map((f) => f.env)).not.toContain('SLUICE_ADMIN_TOKEN');
  // --help names the variable (where --admin-host says what turns the API on), never as a setting with a default.
  expect(formatSettingsHelp()).not.toMatch(/admin-token|SLUICE_ADMIN_TOKEN {2}default/);
  expect(formatSettingsHelp()).toContain('  --admin-port P  SLUICE_ADMIN_PORT  default: 8001\n');
  expect(NON_SETTING_ENV).not.toContain('SLUICE_ADMIN_TOKEN');
  expect(NON_SETTING_ENV).toContain('SLUICE_ADMIN_URL');
});

it.each([
  [{ SLUICE_ADMIN_TOKEN: '' }, /^SLUICE_ADMIN_TOKEN must not be empty/],
  [{ SLUICE_ADMIN_TOKEN: 'two words' }, /^SLUICE_ADMIN_TOKEN must be visible ASCII/],
  // uWS reads header bytes as one character each and drops a value's trailing bytes over 0x7e:
  // neither token could ever be matched.
  [{ SLUICE_ADMIN_TOKEN: 'tökén' }, /^SLUICE_ADMIN_TOKEN must be visible ASCII/],
  [{ SLUICE_ADMIN_TOKEN: 'token\u00a0' }, /^SLUICE_ADMIN_TOKEN must be visible ASCII/],
  [{ SLUICE_RETRAIN_WEBHOOK_SECRET: 'tab\there' }, /^SLUICE_RETRAIN_WEBHOOK_SECRET must be visible ASCII/],
])('refuses %j with SLUICE_ERR_CONFIG_INVALID, without echoing the value', (env, msg) => {
  let err: { code?: string; message: string } | undefined;
  try {
    loadConfig([], env);
  } catch (e) {
    err = e as { code?: string; message: string };
  }
  expect(err?.code).toBe('SLUICE_ERR_CONFIG_INVALID');
  expect(err?.message).toMatch(msg);
  expect(err?.message).not.toContain('two words');
});
