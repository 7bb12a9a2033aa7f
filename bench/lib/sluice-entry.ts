// The sluice process the benchmarks start: the same configuration and gateway as
// `node dist/src/main.js` (same flags, same SLUICE_* environment), plus one bench-only hook.
// On SIGUSR2 it prints one stdout line {"benchStats":{model:{batches,rows}},"shadowCopies":
// {model:{outcome:count}}} read from the gateway's own sluice_batch_rows histogram (so a run can
// say which batch sizes sluice formed, and the raw in-process baseline can run at those sizes)
// and its sluice_shadow_copies_total counter (summed over primary/shadow versions; outcomes
// mirrored, compared, errored, dropped_*), and "stages": {model:{stage:{sum,count}}} from
// sluice_stage_seconds (seconds per stage of answered primary requests: where a run's time went).
// The hook costs nothing until the signal arrives.
// Once the admin listener serves /metrics, read it there instead.
import { loadConfig } from '../../src/config/config.js';
import { startGateway } from '../../src/gateway.js';

const gateway = await startGateway(loadConfig(process.argv.slice(2)));

process.on('SIGUSR2', () => {
  void Promise.all([gateway.metrics.batchRows.get(), gateway.metrics.shadowCopies.get(), gateway.metrics.stageSeconds.get()]).then(([metric, copies, stageSeconds]) => {
    const stats: Record<string, { batches: number; rows: number }> = {};
    for (const v of metric.values) {
      const model = String(v.labels.model);
      const s = (stats[model] ??= { batches: 0, rows: 0 });
      if (v.metricName === 'sluice_batch_rows_count') s.batches += v.value;
      if (v.metricName === 'sluice_batch_rows_sum') s.rows += v.value;
    }
    const shadowCopies: Record<string, Record<string, number>> = {};
    for (const v of copies.values) {
      const m = (shadowCopies[String(v.labels.model)] ??= {});
      m[String(v.labels.outcome)] = (m[String(v.labels.outcome)] ?? 0) + v.value;
    }
    const stages: Record<string, Record<string, { sum: number; count: number }>> = {};
    for (const v of stageSeconds.values) {
      if (v.metricName.endsWith('_bucket')) continue;
      const cell = ((stages[String(v.labels.model)] ??= {})[String(v.labels.stage)] ??= { sum: 0, count: 0 });
      if (v.metricName.endsWith('_sum')) cell.sum += v.value;
      else cell.count += v.value;
    }
    process.stdout.write(`${JSON.stringify({ benchStats: stats, shadowCopies, stages })}\n`);
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
