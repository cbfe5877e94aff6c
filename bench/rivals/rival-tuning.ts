/**
 * How each rival runs: as installed (`defaults`), or as a knowledgeable user would run it on this
 * machine (`tuned`). One place says what each setting is and why, so the report can print it
 * beside the figures.
 *
 * Tuned:
 * - Restate: as many partitions as the machine has cores (restate-server's default is 24; each
 *   partition is a processor with its own log and RocksDB work, which two cores pay for in CPU);
 * - DBOS: a system-database pool sized for the clients (its default is 10 connections, so at 64
 *   clients most workflows wait for a connection before each checkpoint);
 * - both: the V8 flags TP-SAGA's own processes get (`NODE_FLAGS`, a larger young generation) for
 *   the rivals' Node processes (Restate's SDK endpoint, the DBOS process).
 */
import os from "node:os";
import { NODE_FLAGS } from "../../system/processes.js";

export const TUNINGS = ["defaults", "tuned"] as const;
export type Tuning = (typeof TUNINGS)[number];

/** restate-server's default-num-partitions when none is set (1.7.12). */
export const RESTATE_DEFAULT_PARTITIONS = 24;
/** DBOS 5.3's system-database pool when none is set. */
export const DBOS_DEFAULT_POOL = 10;
/** The tuned DBOS pool: one connection per client at the 64-client level the summary reports. */
export const DBOS_TUNED_POOL = 64;

export interface RestateTuning {
  readonly tuning: Tuning;
  /** RESTATE_DEFAULT_NUM_PARTITIONS, or undefined for restate-server's own default. */
  readonly partitions: number | undefined;
  /** Node flags of the SDK endpoint process. */
  readonly nodeFlags: readonly string[];
}

export interface DbosTuning {
  readonly tuning: Tuning;
  /** DBOS `systemDatabasePoolSize`, or undefined for DBOS's own default. */
  readonly poolSize: number | undefined;
  /** Node flags of the DBOS process. */
  readonly nodeFlags: readonly string[];
}

/** Overrides of the tuned settings from the command line. */
export interface TuningOverrides {
  readonly restatePartitions: number | undefined;
  readonly dbosPool: number | undefined;
}

export function restateTuning(tuning: Tuning, overrides: TuningOverrides): RestateTuning {
  if (tuning === "defaults") return { tuning, partitions: undefined, nodeFlags: [] };
  return { tuning, partitions: overrides.restatePartitions ?? Math.max(1, os.cpus().length), nodeFlags: [...NODE_FLAGS] };
}

export function dbosTuning(tuning: Tuning, overrides: TuningOverrides): DbosTuning {
  if (tuning === "defaults") return { tuning, poolSize: undefined, nodeFlags: [] };
  return { tuning, poolSize: overrides.dbosPool ?? DBOS_TUNED_POOL, nodeFlags: [...NODE_FLAGS] };
}

const flags = (f: readonly string[]): string => (f.length ? f.join(" ") : "no V8 flags");

/** The engine's label in tables and in the JSON line: what ran, in a few words. */
export function restateLabel(t: RestateTuning): string {
  return `restate ${t.tuning} (${t.partitions ?? RESTATE_DEFAULT_PARTITIONS} partitions, ${flags(t.nodeFlags)})`;
}

export function dbosLabel(t: DbosTuning): string {
  return `dbos ${t.tuning} (pool ${t.poolSize ?? DBOS_DEFAULT_POOL}, ${flags(t.nodeFlags)})`;
}
