import { describe, expect, it } from "vitest";
import { getOption, hasOption, ScalarType, type DescService } from "@bufbuild/protobuf";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { Role, saga } from "#gen/saga/options/v1/options_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";

// The contracts say each RPC's part in sagas (saga.options.v1): what an engine reads to know
// an action's compensation and confirmation. Checked here so a proto edit cannot leave an RPC
// without its role, or name a method that does not exist.
const SERVICES: DescService[] = [CatalogService, PaymentsService, PurchasesService, InventoryService];

/** Every method of a service as [name, role, compensation, confirmation, key field]. */
const rolesOf = (service: DescService) =>
  service.methods.map((m) => {
    const o = getOption(m, saga);
    return [m.name, Role[o.role], o.compensation, o.confirmation, o.idempotencyKeyField];
  });

describe("saga method options", () => {
  it("every RPC of the four services carries one", () => {
    for (const service of SERVICES) for (const m of service.methods) expect(hasOption(m, saga), `${service.typeName}.${m.name}`).toBe(true);
  });

  it("give each mutating service one action with its compensation and confirmation, and reads and transport", () => {
    expect(rolesOf(PaymentsService)).toEqual([
      ["AuthorizePayment", "ACTION", "VoidPayment", "CapturePayment", "idempotency_key"],
      ["CapturePayment", "CONFIRMATION", "", "", "idempotency_key"],
      ["VoidPayment", "COMPENSATION", "", "", "idempotency_key"],
      ["GetAccount", "READ", "", "", ""],
      ["ListAccounts", "READ", "", "", ""],
      ["GetPayment", "READ", "", "", ""],
      ["ListPayments", "READ", "", "", ""],
      ["Exchange", "TRANSPORT", "", "", ""],
    ]);
    expect(rolesOf(PurchasesService)).toEqual([
      ["ProcessPurchase", "ACTION", "CancelPurchase", "ConfirmPurchase", "idempotency_key"],
      ["ConfirmPurchase", "CONFIRMATION", "", "", "idempotency_key"],
      ["CancelPurchase", "COMPENSATION", "", "", "idempotency_key"],
      ["GetPurchase", "READ", "", "", ""],
      ["ListPurchases", "READ", "", "", ""],
      ["Exchange", "TRANSPORT", "", "", ""],
    ]);
    expect(rolesOf(InventoryService)).toEqual([
      ["ReserveStock", "ACTION", "ReleaseStock", "CommitStock", "idempotency_key"],
      ["CommitStock", "CONFIRMATION", "", "", "idempotency_key"],
      ["ReleaseStock", "COMPENSATION", "", "", "idempotency_key"],
      ["GetStock", "READ", "", "", ""],
      ["ListStock", "READ", "", "", ""],
      ["ListReservations", "READ", "", "", ""],
      ["Exchange", "TRANSPORT", "", "", ""],
    ]);
    expect(rolesOf(CatalogService).map(([name, role]) => [name, role])).toEqual([
      ["GetProduct", "READ"],
      ["ListProducts", "READ"],
      ["PriceOrder", "READ"],
      ["Exchange", "TRANSPORT"],
    ]);
  });

  it("name methods of the same service, each with the key field as a string", () => {
    for (const service of SERVICES) {
      for (const m of service.methods) {
        const o = getOption(m, saga);
        for (const name of [o.compensation, o.confirmation].filter(Boolean)) {
          const target = service.methods.find((t) => t.name === name);
          expect(target, `${m.name} names ${name}`).toBeDefined();
          const expectedRole = name === o.compensation ? Role.COMPENSATION : Role.CONFIRMATION;
          expect(getOption(target!, saga).role, `${name}`).toBe(expectedRole);
        }
        if (o.idempotencyKeyField) {
          const field = m.input.fields.find((f) => f.name === o.idempotencyKeyField);
          expect(field?.fieldKind === "scalar" && field.scalar, `${m.name}.${o.idempotencyKeyField}`).toBe(ScalarType.STRING);
        }
      }
    }
  });
});
