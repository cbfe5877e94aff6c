/**
 * A stand-in for the orchestrator's `ListSagas`, serving a rival engine's answered sagas, so
 * `system/invariants.ts` checks a rival exactly as it checks TP-SAGA: money, stock, per saga
 * (COMPLETED ⇔ one captured payment, one confirmed purchase, one committed reservation;
 * COMPENSATED ⇒ none, nothing left pending), and no payment, purchase or reservation standing
 * for a saga the engine never answered. It runs in the
 * runner process, only after the load, and implements nothing else.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  OrchestratorService,
  SagaSchema,
  SagaStatus,
  type ListSagasRequest,
  type ListSagasResponseSchema,
  type Saga,
} from "../../gen/saga/orchestrator/v1/orchestrator_pb.js";
import { startGrpcServer, type GrpcServer, type ServiceBinding } from "../../platform/grpc-server.js";
import { createLogger } from "../../platform/logger.js";
import type { SagaOutcome } from "./saga-outcome.js";

const PAGE = 1000;

/** Starts a gRPC server on a free loopback port whose `ListSagas` pages through `outcomes`. */
export async function startLedgerOrchestrator(outcomes: readonly SagaOutcome[]): Promise<GrpcServer> {
  const sagas: Saga[] = outcomes.map((o) =>
    create(SagaSchema, {
      sagaId: o.sagaId,
      definitionName: "order",
      definitionVersion: 1,
      status: o.status === "COMPLETED" ? SagaStatus.COMPLETED : SagaStatus.COMPENSATED,
      order: { customerId: o.order.customerId, items: o.order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) },
      totalCents: BigInt(o.totalCents),
      failedStep: o.failedStep ?? "",
      errorCode: o.errorCode ?? "",
      error: o.error ?? "",
    }),
  );
  const listSagas = (req: ListSagasRequest): MessageInitShape<typeof ListSagasResponseSchema> => {
    const from = req.pageToken === "" ? 0 : Number(req.pageToken);
    const size = Math.min(PAGE, req.pageSize || 100);
    const to = Math.min(sagas.length, from + size);
    return { sagas: sagas.slice(from, to), nextPageToken: to < sagas.length ? String(to) : "" };
  };
  // Only ListSagas: every other method of the service answers UNIMPLEMENTED (platform/grpc-server.ts).
  const binding: ServiceBinding = { service: OrchestratorService, handlers: { listSagas } as unknown as ServiceBinding["handlers"] };
  return startGrpcServer({ port: 0, host: "127.0.0.1", log: createLogger("rivals-ledger", "warn"), maxMessageBytes: 64 << 20, services: [binding] });
}
