// graphile-worker peer measurement, not a test (setup: README.md here).
// Latency: add_job → task start, 100 warm-up then N sequential samples:
//   node graphile-worker-latency.mjs 1000
import { run, makeWorkerUtils, Logger } from "graphile-worker";
const DB = process.env.GW_DB ?? "postgres://postgres@127.0.0.1:5432/gwbench";
const quiet = new Logger(() => () => {});
let resolve;
const runner = await run({
  preset: { worker: { connectionString: DB, concurrentJobs: 1, pollInterval: 2000 } },
  noHandleSignals: true, logger: quiet, taskList: { mark: async () => resolve(performance.now()) },
});
const utils = await makeWorkerUtils({ connectionString: DB, logger: quiet });
const us = [];
const N = Number(process.argv[2] ?? 1000);
for (let i = 0; i < 100 + N; i++) {
  const started = new Promise((r) => (resolve = r));
  const t0 = performance.now();
  await utils.addJob("mark", {});
  const t = await started;
  if (i >= 100) us.push(t - t0);
}
us.sort((a, b) => a - b);
const p = (q) => us[Math.min(us.length - 1, Math.ceil(us.length * q) - 1)].toFixed(2);
console.log(`graphile-worker latency: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms (${N} samples)`);
await runner.stop(); await utils.release();
