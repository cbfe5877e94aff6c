import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePageToken, encodePageToken, toPage } from "./page-token.js";

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected a throw");
};

describe("page tokens", () => {
  it("round-trip any key, and an empty token means the first page", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), (key) => {
        expect(decodePageToken(encodePageToken(key))).toBe(key);
      }),
    );
    expect(decodePageToken("")).toBeUndefined();
  });

  it.each(["!!", "a b", "e30", "bnVsbA", encodePageToken("k").slice(1), `${encodePageToken("k")}A`, "x".repeat(2000)])(
    "rejects %j with INVALID_ARGUMENT naming page_token",
    (token) => {
      const e = codeOf(() => decodePageToken(token));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(/^page_token: /);
    },
  );

  it("cuts a page and points the next token at its last key", () => {
    expect(toPage(["a", "b"], 2, (k) => k)).toEqual({ items: ["a", "b"], nextPageToken: "" });
    const page = toPage(["a", "b", "c"], 2, (k) => k);
    expect(page.items).toEqual(["a", "b"]);
    expect(decodePageToken(page.nextPageToken)).toBe("b");
  });
});
