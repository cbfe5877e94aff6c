/**
 * A rival saga engine running beside TP-SAGA's four services: where the load goes, which
 * processes are the engine's (for CPU per saga), what it answered (for the invariant check),
 * and how durable it is.
 */
import type { SagaOutcome } from "./saga-outcome.js";

/** The URLs of the four services the engine calls. */
export interface ServiceUrls {
  readonly catalog: string;
  readonly payments: string;
  readonly purchases: string;
  readonly inventory: string;
}

export interface RivalEngine {
  /** "restate" or "dbos". */
  readonly name: string;
  /** POST an order body here; the answer is the outcome (200 completed, 409 compensated). */
  readonly loadUrl: string;
  /** Package versions and settings, for the report. */
  readonly versions: Readonly<Record<string, string>>;
  /** How durable an acknowledged saga is, as configured. */
  readonly durability: readonly string[];
  /** The settings it runs with (defaults or tuned), for the report. */
  readonly settings: readonly string[];
  /** Engine processes by role, read at each level's start and end (pids may appear, e.g. new PostgreSQL backends). */
  enginePids(): Promise<Readonly<Record<string, readonly number[]>>>;
  /** Processes the engine shares with other users of the machine (PostgreSQL's walwriter, checkpointer…): reported apart. */
  sharedPids(): Promise<Readonly<Record<string, readonly number[]>>>;
  /** Every saga the engine answered. */
  outcomes(): Promise<SagaOutcome[]>;
  /** Why the engine is broken (a process exited), if it is. */
  failure(): string | undefined;
  /** Stops every process started and removes every database and directory created. */
  stop(): Promise<void>;
}

/** Options every engine starter takes. */
export interface EngineStartOptions {
  readonly services: ServiceUrls;
  /** Parent of the engine's temp data directory. */
  readonly dataParent: string;
  readonly log: (line: string) => void;
}
