import { basename } from "node:path";
import { HistogramFamily, type HistogramCell, LATENCY_BUCKETS_SECONDS } from "./metric-families.js";
import { metricsEnabled, metricsRegistry } from "./metrics-registry.js";

type StoreLabel = "store" | "database";

let families: { seconds: HistogramFamily<StoreLabel>; writes: HistogramFamily<StoreLabel> } | undefined;

/** Records the group commits of one database: how long each took and how many writes it carried. */
export class CommitRecorder {
  constructor(
    private readonly seconds: HistogramCell,
    private readonly writes: HistogramCell,
  ) {}

  /** A batch of `writes` writes is durable; `startedAt` is the `performance.now()` when it began committing. */
  committed(writes: number, startedAt: number): void {
    this.seconds.observe((performance.now() - startedAt) / 1000);
    this.writes.observe(writes);
  }
}

/**
 * The recorder of one database's group commits (`store` is its engine, `database` names it:
 * a SQLite file's base name, or the PostgreSQL database), or undefined when metrics are off.
 */
export function commitRecorder(store: "sqlite" | "postgres", database: string): CommitRecorder | undefined {
  if (!metricsEnabled()) return undefined;
  families ??= {
    seconds: new HistogramFamily(
      metricsRegistry,
      "tpsaga_store_commit_seconds",
      "Time from a group commit's start until its writes are durable (as DURABILITY promises), in seconds",
      ["store", "database"],
      LATENCY_BUCKETS_SECONDS,
    ),
    writes: new HistogramFamily(
      metricsRegistry,
      "tpsaga_store_commit_writes",
      "Writes carried by one group commit (its batch size)",
      ["store", "database"],
      [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10000],
    ),
  };
  const labels = { store, database: database === ":memory:" || database === "" ? "memory" : basename(database) };
  return new CommitRecorder(families.seconds.cell(labels), families.writes.cell(labels));
}
