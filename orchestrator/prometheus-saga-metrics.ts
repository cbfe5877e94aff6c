import { Gauge, type Registry } from "prom-client";
import { CounterFamily, type CounterCell, HistogramFamily, type HistogramCell, LATENCY_BUCKETS_SECONDS } from "#platform/metric-families.js";
import type { CallPhase, SagaMetrics } from "./engine/saga-metrics.js";
import type { SagaEvent } from "./engine/saga-record.js";

/** The counters of one definition's sagas, resolved once. */
interface DefinitionCells {
  readonly started: CounterCell;
  readonly completed: CounterCell;
  readonly compensated: CounterCell;
  readonly needsAttention: CounterCell;
}

/** Cells by label values, one map level per label, so a lookup builds no key string. */
type Index<C> = Map<string, Map<string, Map<string, Map<string, C>>>>;

function find<C>(index: Index<C>, a: string, b: string, c: string, d: string): C | undefined {
  return index.get(a)?.get(b)?.get(c)?.get(d);
}

function add<C>(index: Index<C>, a: string, b: string, c: string, d: string, cell: C): C {
  let level1 = index.get(a);
  if (!level1) index.set(a, (level1 = new Map()));
  let level2 = level1.get(b);
  if (!level2) level1.set(b, (level2 = new Map()));
  let level3 = level2.get(c);
  if (!level3) level2.set(c, (level3 = new Map()));
  level3.set(d, cell);
  return cell;
}

const RETRIED_PHASE: Partial<Record<SagaEvent["kind"], CallPhase>> = {
  "step-attempt-failed": "action",
  "compensation-attempt-failed": "compensation",
  "confirmation-attempt-failed": "confirmation",
};

/**
 * The saga metrics of the orchestrator, in `registry`:
 * - `tpsaga_sagas_started_total`, `…_completed_total`, `…_compensated_total`,
 *   `…_needs_attention_total` by `definition` (counted when durable, so a resumed saga is not
 *   started twice);
 * - `tpsaga_sagas_in_flight`: sagas being driven now (`inFlight`, read at scrape);
 * - `tpsaga_saga_call_seconds` by `definition`, `phase` (action, compensation, confirmation),
 *   `step` and `outcome` ("OK" or the failure's code): each attempt's duration;
 * - `tpsaga_saga_retries_total` by `definition`, `phase`, `step` and `code`: failed attempts
 *   that are retried.
 */
export function createPrometheusSagaMetrics(registry: Registry, inFlight: () => number): SagaMetrics {
  const counter = (name: string, help: string) => new CounterFamily(registry, name, help, ["definition"]);
  const started = counter("tpsaga_sagas_started_total", "Sagas created (durably), by definition");
  const completed = counter("tpsaga_sagas_completed_total", "Sagas that reached COMPLETED, by definition");
  const compensated = counter("tpsaga_sagas_compensated_total", "Sagas that reached COMPENSATED, by definition");
  const needsAttention = counter(
    "tpsaga_sagas_needs_attention_total",
    "Times a saga turned NEEDS_ATTENTION (out of compensation or confirmation retries), by definition",
  );
  const retries = new CounterFamily(
    registry,
    "tpsaga_saga_retries_total",
    "Failed attempts of a step's call that are retried, by phase, step and code",
    ["definition", "phase", "step", "code"],
  );
  const calls = new HistogramFamily(
    registry,
    "tpsaga_saga_call_seconds",
    "Duration of each attempt of a step's action, compensation or confirmation, by outcome, in seconds",
    ["definition", "phase", "step", "outcome"],
    LATENCY_BUCKETS_SECONDS,
  );
  new Gauge({
    name: "tpsaga_sagas_in_flight",
    help: "Sagas being driven by this orchestrator now (including starts not yet durable)",
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });

  const byDefinition = new Map<string, DefinitionCells>();
  const definitionCells = (definition: string): DefinitionCells => {
    let cells = byDefinition.get(definition);
    if (!cells) {
      const labels = { definition };
      cells = {
        started: started.cell(labels),
        completed: completed.cell(labels),
        compensated: compensated.cell(labels),
        needsAttention: needsAttention.cell(labels),
      };
      byDefinition.set(definition, cells);
    }
    return cells;
  };
  const callCells: Index<HistogramCell> = new Map();
  const retryCells: Index<CounterCell> = new Map();

  return {
    logged(definition, event) {
      switch (event.kind) {
        case "saga-created":
          return definitionCells(definition).started.inc();
        case "saga-completed":
          return definitionCells(definition).completed.inc();
        case "saga-compensated":
          return definitionCells(definition).compensated.inc();
        case "saga-needs-attention":
          return definitionCells(definition).needsAttention.inc();
        case "step-attempt-failed":
        case "compensation-attempt-failed":
        case "confirmation-attempt-failed": {
          const phase = RETRIED_PHASE[event.kind]!;
          const step = event.step ?? "";
          const code = event.error?.code ?? "UNKNOWN";
          const cell =
            find(retryCells, definition, phase, step, code) ??
            add(retryCells, definition, phase, step, code, retries.cell({ definition, phase, step, code }));
          return cell.inc();
        }
      }
    },
    called(definition, phase, step, outcome, seconds) {
      const cell =
        find(callCells, definition, phase, step, outcome) ??
        add(callCells, definition, phase, step, outcome, calls.cell({ definition, phase, step, outcome }));
      cell.observe(seconds);
    },
  };
}
