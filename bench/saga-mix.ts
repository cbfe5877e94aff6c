/** An order as POST /saga takes it. */
export interface OrderBody {
  readonly customerId: string;
  readonly items: readonly { readonly productId: string; readonly quantity: number }[];
}

/** What a saga of the mix is expected to do: complete, or fail at one step. */
export type SagaKind = "success" | "fails-at-catalog" | "fails-at-payments" | "fails-at-purchases" | "fails-at-inventory";

/** One mouse for customer-1 (10^9 cents; 1,000,000 mice in stock): completes. */
export const SUCCESS_ORDER: OrderBody = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };

/** The failing orders of the demo data, one per step, in the order the saga runs its steps. */
export const FAILING_ORDERS: readonly { readonly kind: SagaKind; readonly order: OrderBody }[] = [
  { kind: "fails-at-catalog", order: { customerId: "customer-1", items: [{ productId: "bench-unknown-product", quantity: 1 }] } },
  { kind: "fails-at-payments", order: { customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] } },
  { kind: "fails-at-purchases", order: { customerId: "customer-1", items: [{ productId: "mouse", quantity: 11 }] } },
  { kind: "fails-at-inventory", order: { customerId: "customer-1", items: [{ productId: "webcam", quantity: 1 }] } },
];

/** The i-th saga of a run: its kind and its JSON body (serialised once). */
export interface SagaPick {
  readonly kind: SagaKind;
  readonly body: string;
}

/**
 * A deterministic mix where a share `failureRate` of sagas fail, spread evenly through the
 * sequence (saga i fails when ⌊(i+1)·r⌋ > ⌊i·r⌋) and cycling over the four failing steps.
 */
export function sagaMix(failureRate: number): (i: number) => SagaPick {
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError(`failure rate ${failureRate} is not in [0, 1]`);
  const success: SagaPick = { kind: "success", body: JSON.stringify(SUCCESS_ORDER) };
  const failing: SagaPick[] = FAILING_ORDERS.map((f) => ({ kind: f.kind, body: JSON.stringify(f.order) }));
  return (i) => {
    const before = Math.floor(i * failureRate);
    if (Math.floor((i + 1) * failureRate) === before) return success;
    return failing[before % failing.length]!;
  };
}
