// The sluice process the benchmarks start: the same configuration and gateway as
// `node dist/src/main.js` (same flags, same SLUICE_* environment), plus one bench-only hook.
// On SIGUSR2 it prints one stdout line {"benchStats":{model:{batches,rows}}} read from the
// gateway's own sluice_batch_rows histogram, so a run can say which batch sizes sluice
// formed (and the raw in-process baseline can run at those sizes). The hook costs nothing
// until the signal arrives. Once the admin listener serves /metrics, read it there instead.
import { loadConfig } from '../../src/config/config.js';
import { startGateway } from '../../src/gateway.js';

const gateway = await startGateway(loadConfig(process.argv.slice(2)));

process.on('SIGUSR2', () => {
  void gateway.metrics.batchRows.get().then((metric) => {
    const stats: Record<string, { batches: number; rows: number }> = {};
    for (const v of metric.values) {
      const model = String(v.labels.model);
      const s = (stats[model] ??= { batches: 0, rows: 0 });
      if (v.metricName === 'sluice_batch_rows_count') s.batches += v.value;
      if (v.metricName === 'sluice_batch_rows_sum') s.rows += v.value;
    }
    process.stdout.write(`${JSON.stringify({ benchStats: stats })}\n`);
  });
});

const stop = (): void => {
  gateway.shutdown().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
