import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "#platform/grpc-server.js";
import {
  InventoryService,
  ReservationStatus,
  type ReservationSchema,
  type StockSchema,
} from "#gen/saga/inventory/v1/inventory_pb.js";
import { failIfDemoSaysSo } from "#platform/demo-failure.js";
import type { DemoMode } from "#platform/demo-mode.js";
import { checkId, checkPageSize, checkQuantityLines } from "#platform/field-rules.js";
import { mapHandlerErrors } from "#platform/map-handler-errors.js";
import { decodePageKey, toPage } from "#platform/page-token.js";
import { toConnectError } from "./errors.js";
import type { Inventory, Reservation, StockLine } from "./inventory.js";

const STATUS: Record<Reservation["status"], ReservationStatus> = {
  TAKEN: ReservationStatus.TAKEN,
  RESTORED: ReservationStatus.RESTORED,
  REJECTED: ReservationStatus.REJECTED,
  VOIDED: ReservationStatus.VOIDED,
};

function toReservationMessage(r: Reservation): MessageInitShape<typeof ReservationSchema> {
  return {
    idempotencyKey: r.key,
    lines: r.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    status: STATUS[r.status],
  };
}

function toStockMessage(s: StockLine): MessageInitShape<typeof StockSchema> {
  return { productId: s.productId, quantity: BigInt(s.quantity) };
}

/**
 * InventoryService handlers: validate the request (INVALID_ARGUMENT naming the field), turn
 * proto into domain values and back. Business rules live in {@link Inventory}; errors become
 * codes in `toConnectError`. In demo mode UpdateInventory may fail at random before it acts.
 */
export function inventoryHandlers(inventory: Inventory, demo: DemoMode): ServiceHandlers<typeof InventoryService> {
  const impl: ServiceHandlers<typeof InventoryService> = {
    async updateInventory(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      const lines = checkQuantityLines(req.lines);
      await failIfDemoSaysSo(demo);
      return { reservation: toReservationMessage(await inventory.take(key, lines)) };
    },
    async restoreInventory(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { reservation: toReservationMessage(await inventory.restore(key)) };
    },
    async getStock(req) {
      const productId = checkId(req.productId, "product_id");
      return { stock: toStockMessage(inventory.getStock(productId)) };
    },
    async listStock() {
      return { stock: inventory.listStock().map(toStockMessage) };
    },
    async listReservations(req) {
      const pageSize = checkPageSize(req.pageSize);
      const after = decodePageKey(req.pageToken);
      const page = toPage(inventory.listReservations(after, pageSize + 1), pageSize, (r) => r.key);
      return { reservations: page.items.map(toReservationMessage), nextPageToken: page.nextPageToken };
    },
  };
  return mapHandlerErrors(impl, toConnectError);
}
