import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import { createRunner } from "./runner.js";
import { defineSaga, step } from "./saga.js";
import { foldSaga } from "./saga-record.js";
import { InMemorySagaStore, type SagaStore } from "./saga-store.js";
import { SqliteSagaStore } from "./sql-saga-store.js";

// The trace context a saga is started with is kept in its log, so that a saga resumed by
// another process can continue the trace that started it; a saga started without one has none.
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const definition = defineSaga("traced", 1, [step("only", async () => "done")]);

let dir: string;
let database: TestDatabase;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trace-context-"));
  database = await createTestDatabase("trace_context_test");
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

describe.each([
  ["in memory", async (): Promise<SagaStore> => new InMemorySagaStore()],
  ["SQLite", async (): Promise<SagaStore> => new SqliteSagaStore(join(dir, `${Math.random()}.db`))],
  ["PostgreSQL", async (): Promise<SagaStore> => PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 })],
])("a saga's trace context, kept by the %s store", (_name, openStore) => {
  it("is read back with the saga, from the record and from the stored log", async () => {
    const store = await openStore();
    try {
      const runner = createRunner({ store, definitions: [definition], isRetryable: () => false, describeError: () => ({ code: "X", message: "x" }) });
      const { saga: traced } = await runner.start("traced", { input: 1, traceContext: TRACEPARENT });
      const { saga: untraced } = await runner.start("traced", { input: 2 });
      await runner.idle();
      expect(traced.traceContext).toBe(TRACEPARENT);
      expect((await runner.get(traced.sagaId))?.traceContext).toBe(TRACEPARENT);
      expect((await runner.get(untraced.sagaId))?.traceContext).toBeUndefined();
      const stored = await store.load(traced.sagaId);
      expect(foldSaga(stored!.header, stored!.events)).toMatchObject({ traceContext: TRACEPARENT, status: "COMPLETED", results: { only: "done" } });
      await runner.close();
    } finally {
      await store.close();
    }
  });
});
