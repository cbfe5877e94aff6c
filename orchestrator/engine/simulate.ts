/**
 * CLI for long simulation runs:
 *   node --import tsx orchestrator/engine/simulate.ts --sagas 100000 --seed 42 [--concurrency 500] [--sqlite path|:memory:] [--seeds 10] [--replicas 3]
 * With several seeds and a --sqlite file, each seed uses `<file>.<seed>`. With --replicas n (≥ 2), n runners
 * share one in-memory log with leases on the virtual clock, paused and crashed at random (not with --sqlite). Prints one summary line per seed; exits 1 (printing the seed) on any broken invariant.
 */
import { parseArgs } from "node:util";
import { runSimulation } from "./simulation.js";
import { SqliteSagaStore } from "./sql-saga-store.js";

const { values } = parseArgs({
  options: {
    sagas: { type: "string", default: "10000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    seeds: { type: "string", default: "1" },
    concurrency: { type: "string", default: "500" },
    sqlite: { type: "string" },
    replicas: { type: "string", default: "1" },
  },
});

const sagas = Number(values.sagas);
const firstSeed = Number(values.seed);
let failed = false;
for (let i = 0; i < Number(values.seeds); i++) {
  const seed = firstSeed + i;
  // Each seed starts from an empty log: with several seeds, a file path gets the seed appended.
  const file = values.sqlite === undefined || values.sqlite === ":memory:" || Number(values.seeds) === 1 ? values.sqlite : `${values.sqlite}.${seed}`;
  const report = await runSimulation({
    seed,
    sagas,
    concurrency: Number(values.concurrency),
    replicas: Number(values.replicas),
    onProgress: (orders) => console.error(`${new Date().toISOString()} seed ${seed}: ${orders} orders sent`),
    ...(file !== undefined && { openStore: () => new SqliteSagaStore(file), reopenOnCrash: file !== ":memory:" }),
  });
  const { violations, ...summary } = report;
  console.log(JSON.stringify({ ...summary, sagasPerSecond: Math.round((sagas / report.elapsedMs) * 1000), violations: violations.length }));
  if (violations.length > 0) {
    failed = true;
    console.error(
      `FAILED with seed ${seed} (rerun: --seed ${seed} --sagas ${sagas} --concurrency ${values.concurrency} --replicas ${values.replicas})`,
    );
    for (const v of violations) console.error(`  ${v}`);
  }
}
process.exit(failed ? 1 : 0);
