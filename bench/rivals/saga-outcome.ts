/**
 * What a rival engine answered for one saga, kept by the engine's process so the runner can
 * check TP-SAGA's invariants (`system/invariants.ts`) against the services' state after the
 * run: a payment, purchase or reservation whose saga is not in the ledger is an orphan, and a
 * COMPLETED saga's order must match the stock that left.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { OrderInput } from "../../orchestrator/order-saga/order-input.js";

/** A finished saga as the engine answered it. */
export interface SagaOutcome {
  readonly sagaId: string;
  readonly status: "COMPLETED" | "COMPENSATED";
  readonly order: OrderInput;
  readonly totalCents: number;
  /** The step whose business failure made the saga compensate, and its gRPC code. */
  readonly failedStep?: string;
  readonly errorCode?: string;
  readonly error?: string;
}

/** The outcomes one engine process has answered, by saga id (a replayed answer overwrites itself). */
export class OutcomeLedger {
  readonly #bySaga = new Map<string, SagaOutcome>();

  record(outcome: SagaOutcome): void {
    this.#bySaga.set(outcome.sagaId, outcome);
  }

  all(): SagaOutcome[] {
    return [...this.#bySaga.values()];
  }

  /** Serves `GET /outcomes` as a JSON array; true when it answered the request. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" || req.url !== "/outcomes") return false;
    const body = JSON.stringify(this.all());
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return true;
  }
}

/** Reads an engine's `GET /outcomes` (loopback only). */
export async function fetchOutcomes(baseUrl: string): Promise<SagaOutcome[]> {
  const res = await fetch(`${baseUrl}/outcomes`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/outcomes answered ${res.status}`);
  return (await res.json()) as SagaOutcome[];
}
