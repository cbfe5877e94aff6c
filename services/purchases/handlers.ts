import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceHandlers } from "#platform/grpc-server.js";
import {
  PurchaseStatus,
  PurchasesService,
  type PurchaseLine as PurchaseLineMessage,
  type PurchaseSchema,
} from "#gen/saga/purchases/v1/purchases_pb.js";
import { failIfDemoSaysSo } from "#platform/demo-failure.js";
import type { DemoMode } from "#platform/demo-mode.js";
import { checkCents, checkId, checkPageSize, checkQuantityLines, invalidArgument } from "#platform/field-rules.js";
import { mapHandlerErrors } from "#platform/map-handler-errors.js";
import { decodePageKey, toPage } from "#platform/page-token.js";
import type { PurchaseLine, PurchaseRecord, Purchases } from "./purchases.js";

const STATUS: Record<PurchaseRecord["status"], PurchaseStatus> = {
  PENDING: PurchaseStatus.PENDING,
  CONFIRMED: PurchaseStatus.CONFIRMED,
  CANCELLED: PurchaseStatus.CANCELLED,
  REJECTED: PurchaseStatus.REJECTED,
  VOIDED: PurchaseStatus.VOIDED,
};

function toPurchaseMessage(p: PurchaseRecord): MessageInitShape<typeof PurchaseSchema> {
  return {
    idempotencyKey: p.key,
    customerId: p.customerId,
    lines: p.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: BigInt(l.unitPriceCents) })),
    totalCents: BigInt(p.totalCents),
    status: STATUS[p.status],
  };
}

/** @throws ConnectError INVALID_ARGUMENT naming the line and field at fault. */
function checkLines(lines: readonly PurchaseLineMessage[]): PurchaseLine[] {
  return checkQuantityLines(lines).map((l, i) => ({
    ...l,
    unitPriceCents: checkCents(lines[i]!.unitPriceCents, `lines[${i}].unit_price_cents`),
  }));
}

/**
 * The total must be what the lines add up to, so a record never disagrees with itself.
 * @throws ConnectError INVALID_ARGUMENT naming `total_cents`.
 */
function checkTotal(totalCents: bigint, lines: readonly PurchaseLine[]): number {
  const total = checkCents(totalCents, "total_cents");
  const sum = lines.reduce((s, l) => s + BigInt(l.quantity) * BigInt(l.unitPriceCents), 0n);
  if (sum !== totalCents) throw invalidArgument("total_cents", `must equal the sum of the lines (${sum})`);
  return total;
}

/**
 * PurchasesService handlers: validate the request (INVALID_ARGUMENT naming the field), turn
 * proto into domain values and back. Business rules live in {@link Purchases}; errors become
 * codes in the platform's one mapper. In demo mode ProcessPurchase (the action, never a
 * confirmation, a cancellation or a read) may fail at random before it acts.
 */
export function purchasesHandlers(purchases: Purchases, demo: DemoMode): ServiceHandlers<typeof PurchasesService> {
  const impl: ServiceHandlers<typeof PurchasesService> = {
    async processPurchase(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      const customerId = checkId(req.customerId, "customer_id");
      const lines = checkLines(req.lines);
      const totalCents = checkTotal(req.totalCents, lines);
      await failIfDemoSaysSo(demo);
      return { purchase: toPurchaseMessage(await purchases.process({ key, customerId, lines, totalCents })) };
    },
    async confirmPurchase(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { purchase: toPurchaseMessage(await purchases.confirm(key)) };
    },
    async cancelPurchase(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { purchase: toPurchaseMessage(await purchases.cancel(key)) };
    },
    async getPurchase(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { purchase: toPurchaseMessage(await purchases.getPurchase(key)) };
    },
    async listPurchases(req) {
      const pageSize = checkPageSize(req.pageSize);
      const after = decodePageKey(req.pageToken);
      const page = toPage(await purchases.listPurchases(after, pageSize + 1), pageSize, (p) => p.key);
      return { purchases: page.items.map(toPurchaseMessage), nextPageToken: page.nextPageToken };
    },
  };
  return mapHandlerErrors(impl);
}
