#!/usr/bin/env -S node --single-threaded-gc
// The `sluice` command (package.json bin): `sluice serve` starts the server, the other commands
// talk to a running server's admin API (cli/commands.ts). The one place the CLI touches the
// process: argv, env, stdout/stderr and the exit status go through cli/run.ts's CliIo.
import { createRequire } from 'node:module';
import { runCli } from './cli/run.js';

// package.json is read here rather than imported from gateway.ts, which would load the server.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  version,
});
// exitCode, not exit(): a piped stdout is written out before the process ends.
if (code !== undefined) process.exitCode = code;
