import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  checkCents,
  checkId,
  checkLineCount,
  checkPageSize,
  checkQuantity,
  checkQuantityLines,
  MAX_KEY_LENGTH,
  mergeQuantityLines,
} from "./field-rules.js";

const messageOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    const err = ConnectError.from(e);
    expect(err.code).toBe(Code.InvalidArgument);
    return err.rawMessage;
  }
  throw new Error("expected a throw");
};

describe("field rules", () => {
  it("accept ids of 1..128 printable ASCII characters without spaces", () => {
    expect(checkId("a", "id")).toBe("a");
    expect(checkId("~!#-_.:x".repeat(16), "id")).toHaveLength(128);
    expect(messageOf(() => checkId("", "customer_id"))).toBe("customer_id: must not be empty");
    expect(messageOf(() => checkId("x".repeat(129), "id"))).toBe("id: must be at most 128 characters");
    for (const bad of ["a b", "a\nb", "\u007f", "ñ", "😀", "a\u0000"]) {
      expect(messageOf(() => checkId(bad, "id"))).toBe("id: must be printable ASCII without spaces");
    }
  });

  it("bound quantities, amounts, line counts and page sizes", () => {
    expect(checkQuantity(10_000, "q")).toBe(10_000);
    expect(messageOf(() => checkQuantity(1.5, "lines[0].quantity"))).toBe("lines[0].quantity: must be between 1 and 10000");
    expect(checkCents(1_000_000_000_000n, "a")).toBe(1_000_000_000_000);
    expect(messageOf(() => checkCents(0n, "a"))).toBe("a: must be between 1 and 1000000000000");
    expect(checkLineCount(100)).toBe(100);
    expect(messageOf(() => checkLineCount(101))).toBe("lines: must have at most 100 lines");
    expect(checkPageSize(0)).toBe(100);
    expect(checkPageSize(1000)).toBe(1000);
    expect(messageOf(() => checkPageSize(-1))).toBe("page_size: must be between 0 and 1000");
  });

  it("take a longer bound for saga-level keys, with the argument order of every other check", () => {
    expect(checkId("k".repeat(MAX_KEY_LENGTH), "Idempotency-Key", MAX_KEY_LENGTH)).toHaveLength(200);
    expect(messageOf(() => checkId("k".repeat(201), "Idempotency-Key", MAX_KEY_LENGTH))).toBe("Idempotency-Key: must be at most 200 characters");
  });

  it("name a line's fields as the caller's clients spell them", () => {
    const json = { productId: "productId", quantity: "quantity" };
    expect(
      messageOf(() =>
        checkQuantityLines(
          [
            { productId: "a", quantity: 1 },
            { productId: "", quantity: 1 },
          ],
          "items",
          json,
        ),
      ),
    ).toBe("items[1].productId: must not be empty");
    expect(messageOf(() => checkQuantityLines([{ productId: "a", quantity: 0 }], "items"))).toBe("items[0].quantity: must be between 1 and 10000");
    expect(messageOf(() => checkQuantityLines([], "items"))).toBe("items: must not be empty");
  });

  it("merge the lines of one product, in order of first appearance, within the quantity bound", () => {
    const lines = [
      { productId: "mouse", quantity: 2 },
      { productId: "webcam", quantity: 1 },
      { productId: "mouse", quantity: 3 },
    ];
    expect(mergeQuantityLines(lines, "items")).toEqual([
      { productId: "mouse", quantity: 5 },
      { productId: "webcam", quantity: 1 },
    ]);
    const over = [
      { productId: "mouse", quantity: 6000 },
      { productId: "mouse", quantity: 6000 },
    ];
    expect(messageOf(() => mergeQuantityLines(over, "items"))).toBe("items (mouse): total quantity must be at most 10000");
  });
});
