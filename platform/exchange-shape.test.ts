import { describe, expect, it } from "vitest";
import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { exchangeShape } from "./exchange-shape.js";

const { UINT32: TYPE_UINT32, STRING: TYPE_STRING, MESSAGE: TYPE_MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;
const scalar = (name: string, number: number, type = TYPE_UINT32) => ({ name, number, type, label: OPTIONAL });
const inOneof = (name: string, number: number, typeName: string) => ({ name, number, type: TYPE_MESSAGE, typeName, label: OPTIONAL, oneofIndex: 0 });

/** A service `t.v1.TService` with `Do` and an Exchange built from the given parts. */
function serviceWith(exchange: { bidi?: boolean; callField?: string; resultOneof?: string; responseCallId?: boolean; batchField?: string }) {
  const file = create(FileDescriptorProtoSchema, {
    name: "t/v1/t.proto",
    package: "t.v1",
    syntax: "proto3",
    messageType: [
      { name: "DoRequest" },
      { name: "DoResponse" },
      {
        name: "ExchangeRequest",
        field: [{ name: exchange.batchField ?? "calls", number: 1, type: TYPE_MESSAGE, typeName: ".t.v1.ExchangeCall", label: REPEATED }],
      },
      { name: "ExchangeResponse", field: [{ name: "answers", number: 1, type: TYPE_MESSAGE, typeName: ".t.v1.ExchangeAnswer", label: REPEATED }] },
      {
        name: "ExchangeCall",
        field: [scalar("call_id", 1), scalar("timeout_ms", 2), inOneof(exchange.callField ?? "do", 10, ".t.v1.DoRequest")],
        oneofDecl: [{ name: "call" }],
      },
      {
        name: "ExchangeAnswer",
        field: [
          ...(exchange.responseCallId === false ? [] : [scalar("call_id", 1)]),
          scalar("error_code", 2),
          scalar("error_message", 3, TYPE_STRING),
          inOneof("do", 10, ".t.v1.DoResponse"),
        ],
        oneofDecl: [{ name: exchange.resultOneof ?? "result" }],
      },
    ],
    service: [
      {
        name: "TService",
        method: [
          { name: "Do", inputType: ".t.v1.DoRequest", outputType: ".t.v1.DoResponse" },
          {
            name: "Exchange",
            inputType: ".t.v1.ExchangeRequest",
            outputType: ".t.v1.ExchangeResponse",
            clientStreaming: exchange.bidi ?? true,
            serverStreaming: exchange.bidi ?? true,
          },
        ],
      },
    ],
  });
  return createFileRegistry(file, () => undefined).getService("t.v1.TService")!;
}

describe("exchangeShape", () => {
  it("maps each call of our services' Exchange to its unary method", () => {
    expect([...exchangeShape(CatalogService)!.calls.keys()]).toEqual(["priceOrder"]);
    expect([...exchangeShape(PaymentsService)!.calls.keys()]).toEqual(["authorizePayment", "capturePayment", "voidPayment"]);
    expect([...exchangeShape(PurchasesService)!.calls.keys()]).toEqual(["processPurchase", "confirmPurchase", "cancelPurchase"]);
    expect([...exchangeShape(InventoryService)!.calls.keys()]).toEqual(["reserveStock", "commitStock", "releaseStock"]);
    expect([...exchangeShape(OrchestratorService)!.calls.values()].map((m) => m.name)).toEqual(["StartSaga"]);
  });

  it("accepts a hand-built service that follows the convention", () => {
    expect([...exchangeShape(serviceWith({}))!.calls.keys()]).toEqual(["do"]);
  });

  it("refuses, naming what is wrong, an Exchange that breaks the convention", () => {
    expect(() => exchangeShape(serviceWith({ bidi: false }))).toThrow("t.v1.TService.Exchange must stream both ways");
    expect(() => exchangeShape(serviceWith({ batchField: "call" }))).toThrow("t.v1.ExchangeRequest needs a repeated message field calls");
    expect(() => exchangeShape(serviceWith({ responseCallId: false }))).toThrow("t.v1.ExchangeAnswer lacks field callId");
    expect(() => exchangeShape(serviceWith({ resultOneof: "outcome" }))).toThrow('an answer a oneof "result"');
    expect(() => exchangeShape(serviceWith({ callField: "undo" }))).toThrow("call undo must be named like a unary method");
  });
});
