/**
 * The four gRPC clients of TP-SAGA's services, built exactly as the orchestrator builds them
 * (`createServiceClient` over one grpc-js channel each, generated types from `gen/`, calls
 * carried on each service's Exchange stream), so a rival engine calls the very same services
 * over the very same client code and wire.
 */
import { CatalogService } from "../../gen/saga/catalog/v1/catalog_pb.js";
import { PaymentsService } from "../../gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "../../gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService } from "../../gen/saga/inventory/v1/inventory_pb.js";
import { createServiceClient, type ServiceClient } from "../../platform/grpc-client.js";

/** One typed client per service; `close()` closes the four channels. */
export interface RivalOrderClients {
  readonly catalog: ServiceClient<typeof CatalogService>;
  readonly payments: ServiceClient<typeof PaymentsService>;
  readonly purchases: ServiceClient<typeof PurchasesService>;
  readonly inventory: ServiceClient<typeof InventoryService>;
  close(): void;
}

/**
 * Creates the four clients from `CATALOG_URL`, `PAYMENTS_URL`, `PURCHASES_URL` and
 * `INVENTORY_URL` (as the orchestrator reads them), waiting for a restarting service within
 * each call's deadline like the orchestrator does.
 * @throws when one of the four variables is missing.
 */
export function orderClientsFromEnv(env: NodeJS.ProcessEnv = process.env): RivalOrderClients {
  const url = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  // The orchestrator's own options (orchestrator/main.ts): a rival pays for the wire what TP-SAGA pays.
  const options = { waitForReady: true, exchange: true };
  const clients = {
    catalog: createServiceClient(CatalogService, url("CATALOG_URL"), options),
    payments: createServiceClient(PaymentsService, url("PAYMENTS_URL"), options),
    purchases: createServiceClient(PurchasesService, url("PURCHASES_URL"), options),
    inventory: createServiceClient(InventoryService, url("INVENTORY_URL"), options),
  };
  return { ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}
