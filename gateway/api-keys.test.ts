import { describe, expect, it } from "vitest";
import { ApiKeyRing, presentedKey } from "./api-keys.js";

const CI_KEY = "ci-0123456789abcdef";
const SHOP_KEY = "shop-fedcba9876543210";

describe("ApiKeyRing.parse", () => {
  it("reads name:key pairs, ignoring spaces around them", () => {
    const ring = ApiKeyRing.parse("SAGA_API_KEYS", ` ci:${CI_KEY} , shop:${SHOP_KEY}`);
    expect(ring.names).toEqual(["ci", "shop"]);
    expect(ring.isEmpty).toBe(false);
  });

  it("is empty for empty text", () => {
    expect(ApiKeyRing.parse("SAGA_API_KEYS", "").isEmpty).toBe(true);
  });

  it("names every entry at fault without showing a key", () => {
    const text = `nokey,:${CI_KEY},ci:short,shop:${SHOP_KEY},shop:${CI_KEY}x,copy:${SHOP_KEY},sp:has space in it!!`;
    let message = "";
    try {
      ApiKeyRing.parse("SAGA_API_KEYS", text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("SAGA_API_KEYS: entry 1 is not name:key");
    expect(message).toContain("entry 2 has a name that is not");
    expect(message).toContain("the key of ci is shorter than 16 characters");
    expect(message).toContain("shop is given twice");
    expect(message).toContain("shop and copy have the same key");
    expect(message).toContain("the key of sp has a character that is not visible ASCII");
    expect(message).not.toContain(CI_KEY);
    expect(message).not.toContain(SHOP_KEY);
  });
});

describe("ApiKeyRing.identify", () => {
  const ring = ApiKeyRing.parse("SAGA_API_KEYS", `ci:${CI_KEY},shop:${SHOP_KEY}`);

  it("names the key presented", () => {
    expect(ring.identify(CI_KEY)).toBe("ci");
    expect(ring.identify(SHOP_KEY)).toBe("shop");
  });

  it("knows no other key: a prefix, an extension, another case, nothing", () => {
    for (const wrong of [CI_KEY.slice(0, -1), `${CI_KEY}0`, CI_KEY.toUpperCase(), "", "ci"]) expect(ring.identify(wrong)).toBeUndefined();
  });
});

describe("presentedKey", () => {
  it("takes the key from Authorization: Bearer or X-Api-Key", () => {
    expect(presentedKey({ authorization: `Bearer ${CI_KEY}` })).toEqual({ kind: "key", key: CI_KEY });
    expect(presentedKey({ authorization: `bearer  ${CI_KEY}` })).toEqual({ kind: "key", key: CI_KEY });
    expect(presentedKey({ "x-api-key": CI_KEY })).toEqual({ kind: "key", key: CI_KEY });
    expect(presentedKey({ authorization: `Bearer ${CI_KEY}`, "x-api-key": CI_KEY })).toEqual({ kind: "key", key: CI_KEY });
  });

  it("is none without either header", () => {
    expect(presentedKey({})).toEqual({ kind: "none" });
  });

  it("names a key given wrongly", () => {
    expect(presentedKey({ authorization: `Basic ${CI_KEY}` })).toMatchObject({
      kind: "malformed",
      error: expect.stringContaining("Bearer <API key>"),
    });
    expect(presentedKey({ authorization: "Bearer" })).toMatchObject({ kind: "malformed" });
    expect(presentedKey({ authorization: "Bearer a b" })).toMatchObject({ kind: "malformed" });
    expect(presentedKey({ "x-api-key": " " })).toMatchObject({ kind: "malformed", error: "X-Api-Key: empty" });
    expect(presentedKey({ authorization: `Bearer ${CI_KEY}`, "x-api-key": SHOP_KEY })).toMatchObject({
      kind: "malformed",
      error: expect.stringContaining("different keys"),
    });
  });
});
