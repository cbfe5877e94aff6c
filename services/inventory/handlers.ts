import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "#platform/grpc-server.js";
import { InventoryService, ReservationStatus, type ReservationSchema, type StockSchema } from "#gen/saga/inventory/v1/inventory_pb.js";
import { failIfDemoSaysSo } from "#platform/demo-failure.js";
import type { DemoMode } from "#platform/demo-mode.js";
import { checkId, checkPageSize, checkQuantityLines } from "#platform/field-rules.js";
import { mapHandlerErrors } from "#platform/map-handler-errors.js";
import { decodePageKey, toPage } from "#platform/page-token.js";
import type { Inventory, Reservation, Stock } from "./inventory.js";

const STATUS: Record<Reservation["status"], ReservationStatus> = {
  RESERVED: ReservationStatus.RESERVED,
  COMMITTED: ReservationStatus.COMMITTED,
  RELEASED: ReservationStatus.RELEASED,
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

/** `quantity` is what is on hand, reserved units included (the field kept its name from version 1). */
function toStockMessage(s: Stock): MessageInitShape<typeof StockSchema> {
  return { productId: s.productId, quantity: BigInt(s.onHand), reserved: BigInt(s.reserved), available: BigInt(s.available) };
}

/**
 * InventoryService handlers: validate the request (INVALID_ARGUMENT naming the field), turn
 * proto into domain values and back. Business rules live in {@link Inventory}; errors become
 * codes in the platform's one mapper. In demo mode ReserveStock (the action, never a commit,
 * a release or a read) may fail at random before it acts.
 */
export function inventoryHandlers(inventory: Inventory, demo: DemoMode): ServiceHandlers<typeof InventoryService> {
  const impl: ServiceHandlers<typeof InventoryService> = {
    async reserveStock(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      const lines = checkQuantityLines(req.lines);
      await failIfDemoSaysSo(demo);
      return { reservation: toReservationMessage(await inventory.reserve(key, lines)) };
    },
    async commitStock(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { reservation: toReservationMessage(await inventory.commit(key)) };
    },
    async releaseStock(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { reservation: toReservationMessage(await inventory.release(key)) };
    },
    async getStock(req) {
      const productId = checkId(req.productId, "product_id");
      return { stock: toStockMessage(await inventory.getStock(productId)) };
    },
    async listStock() {
      return { stock: (await inventory.listStock()).map(toStockMessage) };
    },
    async listReservations(req) {
      const pageSize = checkPageSize(req.pageSize);
      const after = decodePageKey(req.pageToken);
      const page = toPage(await inventory.listReservations(after, pageSize + 1), pageSize, (r) => r.key);
      return { reservations: page.items.map(toReservationMessage), nextPageToken: page.nextPageToken };
    },
  };
  return mapHandlerErrors(impl);
}
