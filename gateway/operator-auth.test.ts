import { generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ApiKeyRing } from "./api-keys.js";
import { createOperatorAuthenticator, LOOPBACK_PRINCIPAL } from "./operator-auth.js";
import { readReasonBody } from "./operator-routes.js";

const ALICE_KEY = "alice-key-0123456789abcdef";
const BOB_KEY = "bob-key-0123456789abcdefgh";
const SECRET = new TextEncoder().encode("a-test-secret-of-at-least-32-bytes!!");
const remote = { remoteAddress: "10.1.2.3", host: "gateway.example:8000" };
const bearer = (token: string) => ({ ...remote, authorization: `Bearer ${token}` });
const jwt = (claims: { sub?: string; iss?: string; aud?: string; exp?: number }) => {
  let token = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (claims.sub !== undefined) token = token.setSubject(claims.sub);
  if (claims.iss !== undefined) token = token.setIssuer(claims.iss);
  if (claims.aud !== undefined) token = token.setAudience(claims.aud);
  return token.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600).sign(SECRET);
};

describe("API keys", () => {
  const ring = (text: string) => ApiKeyRing.parse("OPERATOR_API_KEYS", text);
  it("parses name:key lists and names the entry at fault without showing a key", () => {
    expect(ring(`alice:${ALICE_KEY}, bob:${BOB_KEY}`).names).toEqual(["alice", "bob"]);
    expect(() => ring("alice")).toThrow(/OPERATOR_API_KEYS: entry 1 is not name:key/);
    expect(() => ring(`alice:${ALICE_KEY},bob:short`)).toThrow(/the key of bob is shorter than 16/);
    expect(() => ring(`alice:${ALICE_KEY},alice:${BOB_KEY}`)).toThrow(/alice is given twice/);
    expect(() => ring(`alice:${ALICE_KEY},bob:short`)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(ALICE_KEY) }));
  });

  it("finds the holder of a key, and nobody for a wrong one, a prefix or an empty one", () => {
    const keys = ring(`alice:${ALICE_KEY},bob:${BOB_KEY}`);
    expect(keys.identify(ALICE_KEY)).toBe("alice");
    expect(keys.identify(BOB_KEY)).toBe("bob");
    expect(keys.identify(ALICE_KEY.slice(0, -1))).toBeUndefined();
    expect(keys.identify(`${ALICE_KEY}x`)).toBeUndefined();
    expect(keys.identify("")).toBeUndefined();
  });
});

describe("operator authentication with credentials", () => {
  const auth = createOperatorAuthenticator({
    apiKeys: ApiKeyRing.parse("OPERATOR_API_KEYS", `alice:${ALICE_KEY}`),
    jwtKey: SECRET,
    jwtIssuer: "tp-saga",
    jwtAudience: "console",
  });

  it("is 401 without a credential or with another scheme, 403 with a wrong one, and names the holder of a right one", async () => {
    expect(auth.mode).toBe("credentials");
    expect(await auth.authenticate({ ...remote, authorization: undefined })).toMatchObject({ ok: false, status: 401 });
    expect(await auth.authenticate({ ...remote, authorization: `Basic ${ALICE_KEY}` })).toMatchObject({ ok: false, status: 401 });
    expect(await auth.authenticate(bearer("not-a-key-0123456789"))).toMatchObject({ ok: false, status: 403 });
    expect(await auth.authenticate(bearer(ALICE_KEY))).toEqual({ ok: true, principal: "alice" });
    // Loopback gets no exemption once credentials are configured.
    expect(await auth.authenticate({ remoteAddress: "127.0.0.1", host: "127.0.0.1:8000", authorization: undefined })).toMatchObject({ status: 401 });
  });

  it("takes a JWT signed with the secret, with the right issuer and audience, as its sub", async () => {
    expect(await auth.authenticate(bearer(await jwt({ sub: "carol@ops", iss: "tp-saga", aud: "console" })))).toEqual({
      ok: true,
      principal: "carol@ops",
    });
    const refused = [
      await jwt({ sub: "carol", iss: "someone-else", aud: "console" }),
      await jwt({ sub: "carol", iss: "tp-saga", aud: "other" }),
      await jwt({ iss: "tp-saga", aud: "console" }),
      await jwt({ sub: "carol", iss: "tp-saga", aud: "console", exp: Math.floor(Date.now() / 1000) - 120 }),
      (await jwt({ sub: "carol", iss: "tp-saga", aud: "console" })).slice(0, -2) + "xx",
    ];
    for (const token of refused) expect(await auth.authenticate(bearer(token))).toMatchObject({ ok: false, status: 403 });
    const expired = await auth.authenticate(bearer(refused[3]!));
    expect(expired.ok ? "" : expired.message).toMatch(/expired/);
  });

  it("verifies with a public key, and refuses an HS256 token made with the public key as a secret", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const byKey = createOperatorAuthenticator({ apiKeys: ApiKeyRing.parse("OPERATOR_API_KEYS", ""), jwtKey: publicKey });
    const good = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).setSubject("dave").setExpirationTime("5m").sign(privateKey);
    expect(await byKey.authenticate(bearer(good))).toEqual({ ok: true, principal: "dave" });
    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("mallory")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(publicKey.export({ type: "spki", format: "pem" }).toString()));
    expect(await byKey.authenticate(bearer(confused))).toMatchObject({ ok: false, status: 403 });
  });
});

describe("operator authentication without configuration", () => {
  const auth = createOperatorAuthenticator({ apiKeys: ApiKeyRing.parse("OPERATOR_API_KEYS", "") });

  it("serves loopback clients asking for a loopback host, as the actor loopback, and nobody else", async () => {
    expect(auth.mode).toBe("loopback");
    for (const [remoteAddress, host] of [
      ["127.0.0.1", "127.0.0.1:8000"],
      ["::1", "[::1]:8000"],
      ["::ffff:127.0.0.1", "localhost:8000"],
    ] as const)
      expect(await auth.authenticate({ remoteAddress, host, authorization: undefined })).toEqual({ ok: true, principal: LOOPBACK_PRINCIPAL });
    expect(await auth.authenticate({ remoteAddress: "10.0.0.5", host: "127.0.0.1:8000", authorization: undefined })).toMatchObject({ status: 403 });
    // DNS rebinding: a page of another site whose name resolves to 127.0.0.1.
    expect(await auth.authenticate({ remoteAddress: "127.0.0.1", host: "evil.example:8000", authorization: undefined })).toMatchObject({
      status: 403,
    });
    expect(await auth.authenticate({ remoteAddress: "127.0.0.1", host: undefined, authorization: undefined })).toMatchObject({ status: 403 });
  });
});

describe("the body of a REST operator action", () => {
  it("is {reason} and nothing else", () => {
    expect(readReasonBody({ reason: "payments back up" })).toBe("payments back up");
    expect(() => readReasonBody({})).toThrow(/^reason: required/);
    expect(() => readReasonBody({ reason: "  " })).toThrow(/^reason: must not be empty/);
    expect(() => readReasonBody({ reason: 3 })).toThrow(/^reason: must be a string/);
    expect(() => readReasonBody({ reason: "x".repeat(2001) })).toThrow(/^reason: longer than 2000/);
    expect(() => readReasonBody({ reason: "ok", actor: "mallory" })).toThrow(/^actor: not a body field/);
    expect(() => readReasonBody({ reason: "ok", why: "x" })).toThrow(/unknown field "why"/);
    expect(() => readReasonBody(["reason"])).toThrow(/must be a JSON object/);
  });
});
