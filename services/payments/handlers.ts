import type { ServiceHandlers } from "#platform/grpc-server.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { PaymentStatus, PaymentsService, type AccountSchema, type PaymentSchema } from "#gen/saga/payments/v1/payments_pb.js";
import { failIfDemoSaysSo } from "#platform/demo-failure.js";
import type { DemoMode } from "#platform/demo-mode.js";
import { checkCents, checkId, checkPageSize } from "#platform/field-rules.js";
import { mapHandlerErrors } from "#platform/map-handler-errors.js";
import { decodePageKey, toPage } from "#platform/page-token.js";
import type { Account, PaymentRecord, Payments } from "./payments.js";

const STATUS: Record<PaymentRecord["status"], PaymentStatus> = {
  AUTHORIZED: PaymentStatus.AUTHORIZED,
  CAPTURED: PaymentStatus.CAPTURED,
  VOIDED: PaymentStatus.VOIDED,
  DECLINED: PaymentStatus.DECLINED,
  CANCELLED: PaymentStatus.CANCELLED,
};

function toPaymentMessage(p: PaymentRecord): MessageInitShape<typeof PaymentSchema> {
  return { idempotencyKey: p.key, customerId: p.customerId, amountCents: BigInt(p.amountCents), status: STATUS[p.status] };
}

function toAccountMessage(a: Account): MessageInitShape<typeof AccountSchema> {
  return {
    customerId: a.customerId,
    balanceCents: BigInt(a.balanceCents),
    heldCents: BigInt(a.heldCents),
    availableCents: BigInt(a.availableCents),
  };
}

/**
 * PaymentsService handlers: validate the request (INVALID_ARGUMENT naming the field), turn
 * proto into domain values and back. Business rules live in {@link Payments}; errors become
 * codes in the platform's one mapper. In demo mode AuthorizePayment (the action, never a
 * capture, a void or a read) may fail at random before it acts.
 */
export function paymentsHandlers(payments: Payments, demo: DemoMode): ServiceHandlers<typeof PaymentsService> {
  const impl: ServiceHandlers<typeof PaymentsService> = {
    async authorizePayment(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      const customerId = checkId(req.customerId, "customer_id");
      const amountCents = checkCents(req.amountCents, "amount_cents");
      await failIfDemoSaysSo(demo);
      return { payment: toPaymentMessage(await payments.authorize({ key, customerId, amountCents })) };
    },
    async capturePayment(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { payment: toPaymentMessage(await payments.capture(key)) };
    },
    async voidPayment(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { payment: toPaymentMessage(await payments.void(key)) };
    },
    async getAccount(req) {
      const customerId = checkId(req.customerId, "customer_id");
      return { account: toAccountMessage(await payments.getAccount(customerId)) };
    },
    async listAccounts() {
      return { accounts: (await payments.listAccounts()).map(toAccountMessage) };
    },
    async getPayment(req) {
      const key = checkId(req.idempotencyKey, "idempotency_key");
      return { payment: toPaymentMessage(await payments.getPayment(key)) };
    },
    async listPayments(req) {
      const pageSize = checkPageSize(req.pageSize);
      const after = decodePageKey(req.pageToken);
      const page = toPage(await payments.listPayments(after, pageSize + 1), pageSize, (p) => p.key);
      return { payments: page.items.map(toPaymentMessage), nextPageToken: page.nextPageToken };
    },
  };
  return mapHandlerErrors(impl);
}
