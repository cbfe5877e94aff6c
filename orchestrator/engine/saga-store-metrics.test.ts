import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metricsRegistry } from "../../platform/metrics-registry.js";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { parseExposition } from "../../test/prometheus-scrape.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import type { SagaEvent, SagaHeader } from "./saga-record.js";
import type { SagaStore } from "./saga-store.js";
import { SqliteSagaStore } from "./sql-saga-store.js";

// The saga log's group commits, as the process's metrics report them, on a real SQLite file and
// a real PostgreSQL database: the writes of one turn go out as one commit.
const header = (sagaId: string): SagaHeader => ({
  sagaId,
  idempotencyKey: `key-${sagaId}`,
  fingerprint: "fp",
  definitionName: "order",
  definitionVersion: 1,
  input: {},
  createdAt: 1,
});
const event = (sagaId: string, sequence: number): SagaEvent => ({
  sagaId,
  sequence,
  kind: sequence === 1 ? "saga-created" : "step-started",
  status: "RUNNING",
  at: 1_000 + sequence,
});

async function commits(labels: { store: string; database: string }): Promise<{ commits: number; writes: number; seconds: number }> {
  const m = parseExposition(await metricsRegistry.metrics());
  return {
    commits: m.value("tpsaga_store_commit_writes_count", labels) ?? 0,
    writes: m.value("tpsaga_store_commit_writes_sum", labels) ?? 0,
    seconds: m.value("tpsaga_store_commit_seconds_count", labels) ?? 0,
  };
}

/** 40 creates in one turn, then 40 appends in one turn: two commits of 40 writes. */
async function twoTurns(store: SagaStore, prefix: string): Promise<void> {
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.create(header(`${prefix}${i}`), event(`${prefix}${i}`, 1))));
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.append(event(`${prefix}${i}`, 2))));
}

describe("saga log commit metrics", () => {
  let dir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "saga-store-metrics-"));
    database = await createTestDatabase("saga_store_metrics_test");
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  });

  it("SQLite: each group commit's writes and duration, under the file's name", async () => {
    const store = new SqliteSagaStore(join(dir, "metrics-log.db"));
    const labels = { store: "sqlite", database: "metrics-log.db" };
    const before = await commits(labels);
    await twoTurns(store, "s");
    await store.close();
    expect(await commits(labels)).toEqual({ commits: before.commits + 2, writes: before.writes + 80, seconds: before.seconds + 2 });
  });

  it("PostgreSQL: each group commit's writes and duration, under the database's name", async () => {
    const store = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
    const labels = { store: "postgres", database: database.name };
    const before = await commits(labels);
    await twoTurns(store, "p");
    await store.close();
    expect(await commits(labels)).toEqual({ commits: before.commits + 2, writes: before.writes + 80, seconds: before.seconds + 2 });
  });
});
