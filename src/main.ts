#!/usr/bin/env node
// Process entry: parse configuration, start the gateway, stop gracefully on SIGTERM/SIGINT.
import { loadConfig } from './config/config.js';
import { SluiceError } from './errors.js';
import { startGateway, type Gateway } from './gateway.js';

async function main(): Promise<void> {
  let gateway: Gateway;
  try {
    gateway = await startGateway(loadConfig(process.argv.slice(2)));
  } catch (err) {
    const e = err instanceof SluiceError ? err : undefined;
    process.stderr.write(`sluice: ${e ? `${e.code}: ${e.message}` : String((err as Error)?.stack ?? err)}\n`);
    for (const d of e?.details ?? []) process.stderr.write(`  ${d}\n`);
    process.exit(1);
  }
  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) {
      gateway.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    gateway.shutdown().then(
      () => process.exit(0),
      (err) => {
        gateway.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
