import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePageKey, decodePageToken, encodePageKey, encodePageToken, InvalidPageTokenError, toPage } from "./page-token.js";

const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
};

describe("page tokens by key (the services' lists)", () => {
  it("round-trip any key, and an empty token means the first page", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), (key) => {
        expect(decodePageKey(encodePageKey(key))).toBe(key);
      }),
    );
    expect(decodePageKey("")).toBeUndefined();
  });

  it.each([
    "!!",
    "a b",
    "e30",
    "bnVsbA",
    encodePageKey("k").slice(1),
    `${encodePageKey("k")}A`,
    "x".repeat(2000),
    encodePageToken({ createdAt: 1, sagaId: "s" }),
  ])("rejects %j with INVALID_ARGUMENT naming page_token", (token) => {
    const e = ConnectError.from(errorOf(() => decodePageKey(token)));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toMatch(/^page_token: /);
  });

  it("cuts a page and points the next token at its last key", () => {
    expect(toPage(["a", "b"], 2, (k) => k)).toEqual({ items: ["a", "b"], nextPageToken: "" });
    const page = toPage(["a", "b", "c"], 2, (k) => k);
    expect(page.items).toEqual(["a", "b"]);
    expect(decodePageKey(page.nextPageToken)).toBe("b");
  });
});

describe("page tokens by saga cursor (the orchestrator's list)", () => {
  it("round-trip any cursor", () => {
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.string({ minLength: 1, maxLength: 200 }), (createdAt, sagaId) => {
        expect(decodePageToken(encodePageToken({ createdAt, sagaId }))).toEqual({ createdAt, sagaId });
      }),
    );
  });

  it.each([
    "",
    "!!",
    "Zm9v",
    Buffer.from("v1:1:y").toString("base64url"),
    encodePageKey("k"),
    encodePageToken({ createdAt: 1.5, sagaId: "s" }),
    encodePageToken({ createdAt: 1, sagaId: "" }),
  ])("rejects %j with InvalidPageTokenError", (token) => {
    expect(errorOf(() => decodePageToken(token))).toBeInstanceOf(InvalidPageTokenError);
  });

  it("shares one format with the key tokens: the same JSON envelope, a different key", () => {
    const envelope = (token: string) => JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    expect(envelope(encodePageKey("k"))).toEqual({ v: 1, after: ["k"] });
    expect(envelope(encodePageToken({ createdAt: 7, sagaId: "s" }))).toEqual({ v: 1, after: [7, "s"] });
  });
});
