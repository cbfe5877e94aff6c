import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import { runSimulation } from "./simulation.js";
import type { SagaStore } from "./saga-store.js";

// SIM_SEED=… reruns a failing seed exactly.
const seed = Number(process.env["SIM_SEED"] ?? 20_240_601);

let database: TestDatabase;
const opened: Promise<SagaStore>[] = [];
beforeAll(async () => {
  database = await createTestDatabase("saga_simulation_test");
});
afterAll(async () => {
  await Promise.allSettled(opened.map(async (s) => (await s).close()));
  await database?.drop();
});

/**
 * The simulation opens its store synchronously; this hands it one whose every call first waits
 * for the PostgreSQL store to be open (connected and migrated).
 */
function openOnPostgres(): SagaStore {
  const ready = PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
  opened.push(ready);
  return {
    create: async (header, first) => (await ready).create(header, first),
    append: async (event) => (await ready).append(event),
    load: async (sagaId) => (await ready).load(sagaId),
    list: async (query) => (await ready).list(query),
    unfinished: async () => (await ready).unfinished(),
    close: async () => (await ready).close(),
  };
}

describe("seeded simulation on PostgreSQL", () => {
  it("keeps every invariant with every fault, the store closed and reopened at every crash", async () => {
    const report = await runSimulation({ seed, sagas: 600, concurrency: 40, openStore: openOnPostgres, reopenOnCrash: true });
    expect(report.violations, `rerun with SIM_SEED=${seed}`).toEqual([]);
    expect(report.completed + report.compensated + report.resolved).toBe(600);
    expect(report.crashes).toBeGreaterThan(3);
    expect(report.lostReplies).toBeGreaterThan(0);
  });
});
