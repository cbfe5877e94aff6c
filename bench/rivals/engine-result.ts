/**
 * The figures of one engine at one concurrency level and over one whole run, in one shape for
 * TP-SAGA and its rivals, so the report can put them side by side.
 */
import type { LevelOutcome, MachineShares } from "../level-outcome.js";

/** CPU ms per answered saga, split by whose processes spent it. */
export interface CpuPerSaga {
  /** The engine: TP-SAGA's orchestrator + gateway; restate-server + SDK endpoint; the DBOS process + its PostgreSQL backends. */
  readonly engine: number;
  /** TP-SAGA's four services (the same code under every engine). */
  readonly services: number;
  /** Server processes the engine shares with the rest of the machine (PostgreSQL's walwriter, checkpointer, bgwriter). */
  readonly shared: number;
  readonly loadGenerator: number;
  /** Every process above, each on its own. */
  readonly byProcess: Readonly<Record<string, number>>;
}

export interface EngineLevel extends LevelOutcome, MachineShares {
  readonly concurrency: number;
  readonly cpuMsPerSaga: CpuPerSaga;
}

export interface EngineResult {
  /** "tp-saga (process)", "tp-saga (power)", "restate", "dbos". */
  readonly engine: string;
  readonly versions: Readonly<Record<string, string>>;
  /** "tp-saga", "restate" or "dbos". */
  readonly engineName: string;
  /** "defaults" or "tuned" for a rival; "own" for TP-SAGA (its settings are its authors'). */
  readonly tuning: "defaults" | "tuned" | "own";
  /** What an acknowledged saga survives, in TP-SAGA's words: "power" (a power loss) or "process" (kill -9 of any process). */
  readonly durabilityLevel: "process" | "power";
  /** What an acknowledged saga survives, as configured. */
  readonly durability: readonly string[];
  /** The settings the engine ran with (partitions, pool, V8 flags), for the report. */
  readonly settings: readonly string[];
  /** DURABILITY of TP-SAGA's four services under this engine. */
  readonly servicesDurability: string;
  readonly warmup:
    | {
        readonly sagas: number;
        readonly elapsedMs: number;
        readonly statusCounts: Readonly<Record<string, number>>;
        readonly errors: Readonly<Record<string, number>>;
      }
    | undefined;
  readonly levels: readonly EngineLevel[];
  readonly invariants:
    | {
        readonly sagas: number;
        readonly byStatus: Readonly<Record<string, number>>;
        readonly violationCount: number;
        readonly violations: readonly string[];
      }
    | undefined;
  /** Why the figures do not count (violations, a crash, a start failure), or undefined. */
  readonly voidReason: string | undefined;
}
