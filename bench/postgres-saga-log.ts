/**
 * `node --import tsx bench/postgres-saga-log.ts [--writers C] [--appends N] [--seconds S]`: the
 * saga log's appends per second on PostgreSQL, with group commit (the store as the orchestrator
 * uses it) and without (one write per statement and commit: `maxBatch` 1), for `process` and
 * `power`. C writers each append to their own saga, one append after another, as sagas do.
 * Each configuration stops after N appends or S seconds, whichever comes first, in a database
 * created for the run on the test server (`TEST_POSTGRES_URL`, default 127.0.0.1:5432) and
 * dropped after. Prints one line per configuration.
 */
import { parseArgs } from "node:util";
import { PostgresSagaStore } from "../orchestrator/engine/postgres-saga-store.js";
import { createTestDatabase } from "../platform/postgres-test-database.js";
import type { Durability } from "../platform/sqlite.js";

const { values } = parseArgs({
  options: {
    writers: { type: "string", default: "64" },
    appends: { type: "string", default: "20000" },
    seconds: { type: "string", default: "10" },
  },
});
const writers = Number(values.writers);
const appends = Number(values.appends);
const seconds = Number(values.seconds);
for (const [name, n] of [
  ["writers", writers],
  ["appends", appends],
  ["seconds", seconds],
] as const) {
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`--${name} must be a whole number from 1 to 1000000, not ${n}`);
}

interface Figures {
  appends: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function measure(url: string, durability: Durability, maxBatch: number, run: number): Promise<Figures> {
  const store = await PostgresSagaStore.open({ connectionString: url, durability, maxBatch, connectAttempts: 1 });
  try {
    const ids = Array.from({ length: writers }, (_, i) => `bench-${run}-${i}`);
    await Promise.all(
      ids.map((id, i) =>
        store.create(
          { sagaId: id, idempotencyKey: id, fingerprint: "", definitionName: "bench", definitionVersion: 1, input: { i }, createdAt: Date.now() },
          { sagaId: id, sequence: 1, kind: "saga-created", status: "RUNNING", at: Date.now() },
        ),
      ),
    );
    const latencies: number[] = [];
    const deadline = performance.now() + seconds * 1_000;
    let issued = 0;
    const started = performance.now();
    await Promise.all(
      ids.map(async (sagaId) => {
        for (let sequence = 2; issued < appends && performance.now() < deadline; sequence++) {
          issued++;
          const t = performance.now();
          await store.append({
            sagaId,
            sequence,
            kind: "step-succeeded",
            step: "charge",
            status: "RUNNING",
            at: Date.now(),
            attempt: 1,
            output: { cents: 1250, paymentId: `p-${sequence}` },
          });
          latencies.push(performance.now() - t);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1_000;
    latencies.sort((a, b) => a - b);
    const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return { appends: latencies.length, perSecond: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    await store.close();
  }
}

const database = await createTestDatabase("bench_saga_log");
try {
  console.log(`writers ${writers}, at most ${appends} appends or ${seconds} s per configuration`);
  let run = 0;
  for (const durability of ["process", "power"] as const) {
    for (const [label, maxBatch] of [
      ["group commit", 5_000],
      ["one commit per write", 1],
    ] as const) {
      const f = await measure(database.url, durability, maxBatch, ++run);
      console.log(
        `${durability.padEnd(7)} ${label.padEnd(20)} ${f.appends} appends, ${Math.round(f.perSecond)} appends/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms`,
      );
    }
  }
} finally {
  await database.drop();
}
