import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HttpError } from "./http-errors.js";
import { parseOrderBody } from "./order-body.js";

const messageOf = (body: unknown): string => {
  try {
    parseOrderBody(body);
  } catch (e) {
    if (e instanceof HttpError) return e.message;
    return ConnectError.from(e).rawMessage;
  }
  throw new Error("expected a throw");
};

describe("the order body of POST /saga", () => {
  it("is read, checked and merged by the system's input rules", () => {
    const body = {
      customerId: "customer-1",
      items: [
        { productId: "mouse", quantity: 2 },
        { productId: "keyboard", quantity: 1 },
        { productId: "mouse", quantity: 3 },
      ],
    };
    expect(parseOrderBody(body)).toEqual({
      customerId: "customer-1",
      items: [
        { productId: "mouse", quantity: 5 },
        { productId: "keyboard", quantity: 1 },
      ],
    });
  });

  it.each<[unknown, string]>([
    [null, "body: must be a JSON object"],
    [[], "body: must be a JSON object"],
    [{ customerId: "c", items: [], coupon: 1 }, "coupon: unknown field (expected customerId, items)"],
    [{ items: [] }, "customerId: must be a string"],
    [{ customerId: "c", items: {} }, "items: must be an array"],
    [{ customerId: "c", items: [] }, "items: must not be empty"],
    [{ customerId: "c", items: Array.from({ length: 101 }, () => ({ productId: "m", quantity: 1 })) }, "items: must have at most 100 lines"],
    [{ customerId: "c", items: [1] }, "items[0]: must be an object"],
    [{ customerId: "c", items: [{ productId: "m", quantity: 1, price: 0 }] }, "items[0].price: unknown field (expected productId, quantity)"],
    [{ customerId: "c", items: [{ productId: null, quantity: 1 }] }, "items[0].productId: must be a string"],
    [{ customerId: "c", items: [{ productId: "m", quantity: "1" }] }, "items[0].quantity: must be a number"],
    [{ customerId: "", items: [{ productId: "m", quantity: 1 }] }, "customerId: must not be empty"],
    [{ customerId: "cliente-ñandú", items: [{ productId: "m", quantity: 1 }] }, "customerId: must be printable ASCII without spaces"],
    [{ customerId: "c", items: [{ productId: "m\n", quantity: 1 }] }, "items[0].productId: must be printable ASCII without spaces"],
    [{ customerId: "c", items: [{ productId: "m", quantity: 1.5 }] }, "items[0].quantity: must be between 1 and 10000"],
    [
      {
        customerId: "c",
        items: [
          { productId: "m", quantity: 6000 },
          { productId: "m", quantity: 6000 },
        ],
      },
      "items (m): total quantity must be at most 10000",
    ],
  ])("refuses %j, naming the field as the JSON spells it", (body, message) => {
    expect(messageOf(body)).toBe(message);
  });
});
