/**
 * A payments service for the platform's tests, which need a real service on the wire but care only
 * about some of its calls (mostly AuthorizePayment): the handlers a test gives, and an empty answer
 * for every other RPC, so that each test states only the behaviour it is about.
 */
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { serve, type ServiceBinding, type ServiceHandlers } from "#platform/grpc-server.js";

/** Every RPC of the payments service, as `serve` takes them. */
export type PaymentsHandlers = ServiceHandlers<typeof PaymentsService>;

/** The payments service with the handlers given, AuthorizePayment at least; every RPC not given answers an empty message. */
export function paymentsTestService(handlers: Pick<PaymentsHandlers, "authorizePayment"> & Partial<PaymentsHandlers>): ServiceBinding {
  return serve(PaymentsService, {
    capturePayment: () => ({}),
    voidPayment: () => ({}),
    getAccount: () => ({}),
    listAccounts: () => ({}),
    getPayment: () => ({}),
    listPayments: () => ({}),
    ...handlers,
  });
}
