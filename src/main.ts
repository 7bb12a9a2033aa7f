#!/usr/bin/env node
// Process entry of `npm start`: the server, with its options only (no subcommands). The same
// path as `sluice serve` (cli.ts): both call cli/serve.ts.
import { serve } from './cli/serve.js';

void serve(process.argv.slice(2), { command: 'sluice', argvErrorExitCode: 1 }, process.env);
