import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ApiKeyRing } from "./api-keys.js";
import { createOperatorAuthenticator } from "./operator-auth.js";

// `npm run mint-token` as a user runs it (a real process): what it prints is what the gateway accepts.
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("./mint-token.ts", import.meta.url));
const SECRET = "mint-token-test-secret-of-32-bytes-or-more";
const mint = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["--import", "tsx", SCRIPT, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 });
const remote = { remoteAddress: "10.0.0.1", host: "gateway:8000" };

describe("npm run mint-token", () => {
  it("prints an OPERATOR_API_KEYS entry whose key the gateway accepts as its name", async () => {
    const { stdout } = await mint(["key", "--name", "alice"]);
    const entry = stdout.split("\n")[0]!;
    const keys = ApiKeyRing.parse("OPERATOR_API_KEYS", entry);
    expect(keys.names).toEqual(["alice"]);
    const auth = createOperatorAuthenticator({ apiKeys: keys });
    const key = entry.slice(entry.indexOf(":") + 1);
    expect(await auth.authenticate({ ...remote, authorization: `Bearer ${key}` })).toEqual({ ok: true, principal: "alice" });
  }, 60_000);

  it("signs a JWT with OPERATOR_JWT_SECRET, issuer and audience that the gateway accepts as its sub", async () => {
    const env = { OPERATOR_JWT_SECRET: SECRET, OPERATOR_JWT_ISSUER: "tp-saga", OPERATOR_JWT_AUDIENCE: "ops" };
    const { stdout } = await mint(["jwt", "--sub", "bob@ops", "--ttl", "60"], env);
    const auth = createOperatorAuthenticator({
      apiKeys: ApiKeyRing.parse("OPERATOR_API_KEYS", ""),
      jwtKey: new TextEncoder().encode(SECRET),
      jwtIssuer: "tp-saga",
      jwtAudience: "ops",
    });
    expect(await auth.authenticate({ ...remote, authorization: `Bearer ${stdout.trim()}` })).toEqual({ ok: true, principal: "bob@ops" });
  }, 60_000);

  it("refuses to sign without a secret or key, and a name that is not one, with exit code 1", async () => {
    await expect(mint(["jwt", "--sub", "bob"])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/set OPERATOR_JWT_SECRET/) });
    await expect(mint(["key", "--name", "a b"])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--name/) });
    await expect(mint(["jwt", "--sub", "bob"], { OPERATOR_JWT_SECRET: "short" })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/OPERATOR_JWT_SECRET is not an HS256 secret of at least 32 bytes/),
    });
  }, 60_000);
});
