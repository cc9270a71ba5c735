// graphile-worker peer measurement, not a test (setup: README.md here).
// No-op burn-down: N jobs inserted, then worked by PROCS processes of CONC
// slots each (the fetch batch is the local queue: 0 = one job per fetch),
// fresh tables, then N more after ANALYZE:
//   node graphile-worker-burn-down.mjs 50000 24 2 2000   (database from GW_DB)
import { run, makeWorkerUtils, Logger } from "graphile-worker";
import pg from "pg";
import { fork } from "node:child_process";

const quiet = new Logger(() => () => {});
const DB = process.env.GW_DB ?? "postgres://postgres@127.0.0.1:5432/gwbench";
const preset = (conc, localq) => ({
  worker: {
    connectionString: DB, concurrentJobs: conc, pollInterval: 2000, maxPoolSize: conc + 2,
    completeJobBatchDelay: 0, failJobBatchDelay: 0,
    ...(localq > 0 ? { localQueue: { size: localq } } : {}),
  },
});

if (process.argv[2] === "child") {
  const [conc, localq] = [+process.argv[3], +process.argv[4]];
  const runner = await run({ preset: preset(conc, localq), noHandleSignals: true, logger: quiet, taskList: { noop: async () => {} } });
  process.send("ready");
  process.on("message", async () => { await runner.stop(); process.exit(0); });
} else {
  const [N, CONC, PROCS, LOCALQ] = process.argv.slice(2).map(Number);
  const c = new pg.Client(DB); await c.connect();
  // Fresh tables (no planner statistics), and one CHECKPOINT first, as the
  // `meetmind bench` runs it is compared with got.
  await c.query("DROP SCHEMA IF EXISTS graphile_worker CASCADE");
  const utils = await makeWorkerUtils({ connectionString: DB, logger: quiet });
  await utils.migrate();
  await c.query("CHECKPOINT");
  const count = async () => +(await c.query("SELECT count(*) FROM graphile_worker._private_jobs")).rows[0].count;
  for (const round of ["fresh", "after ANALYZE"]) {
    const t0 = performance.now();
    for (let i = 0; i < N; i += 10000) {
      const n = Math.min(10000, N - i);
      await c.query(`SELECT graphile_worker.add_jobs(array(SELECT json_populate_record(null::graphile_worker.job_spec,
        json_build_object('identifier','noop','payload','{}'::json)) FROM generate_series(1,$1)))`, [n]);
    }
    const ins = N / ((performance.now() - t0) / 1000);
    if (round !== "fresh") await c.query("ANALYZE");
    const kids = [];
    for (let p = 0; p < PROCS; p++) kids.push(fork(new URL(import.meta.url).pathname, ["child", CONC, LOCALQ]));
    const t1 = performance.now();
    await Promise.all(kids.map((k) => new Promise((ok, fail) => {
      k.once("message", ok);
      k.once("exit", (code) => fail(new Error(`a worker process exited (${code}) before it was ready`)));
    })));
    // The first process works while the others start: time only what is
    // left once all of them run.
    const left = await count();
    const tStart = performance.now();
    while ((await count()) > 0) await new Promise((r) => setTimeout(r, 20));
    const worked = left / ((performance.now() - tStart) / 1000);
    kids.forEach((k) => k.send("stop"));
    await Promise.all(kids.map((k) => new Promise((r) => k.once("exit", r))));
    console.log(`${round}: insert ${ins.toFixed(0)} jobs/s, worked ${worked.toFixed(0)} jobs/s (${PROCS}x${CONC}, localQueue ${LOCALQ}, start-up ${(tStart - t1).toFixed(0)} ms and its ${N - left} jobs excluded)`);
  }
  await utils.release(); await c.end();
}
