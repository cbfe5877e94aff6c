import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The gateway process (gateway/main.ts) with bad operator settings: it stops at start (exit 1)
// naming the variable, and never prints the value (it holds a secret).
const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const start = (env: Record<string, string>) =>
  run(process.execPath, ["--import", "tsx", MAIN], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", LOG_LEVEL: "silent", ...env },
    timeout: 60_000,
  });

describe("the gateway's operator settings", () => {
  it("refuses a malformed OPERATOR_API_KEYS or a short OPERATOR_JWT_SECRET without showing them", async () => {
    const secretish = "alice:a-secret-value-0123456789,bob";
    const bad = await start({ OPERATOR_API_KEYS: secretish }).catch((err: { code: number; stderr: string }) => err);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/OPERATOR_API_KEYS is not a list name:key/) });
    expect((bad as { stderr: string }).stderr).not.toContain("a-secret-value");
    const short = await start({ OPERATOR_JWT_SECRET: "short-secret-value" }).catch((err: { code: number; stderr: string }) => err);
    expect(short).toMatchObject({ code: 1, stderr: expect.stringMatching(/OPERATOR_JWT_SECRET is not an HS256 secret of at least 32 bytes/) });
    expect((short as { stderr: string }).stderr).not.toContain("short-secret-value");
  }, 60_000);

  it("refuses a public key file that is not one, and a JWT secret and a public key together", async () => {
    const notPem = await start({ OPERATOR_JWT_PUBLIC_KEY_FILE: MAIN }).catch((err: { code: number; stderr: string }) => err);
    expect(notPem).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/OPERATOR_JWT_PUBLIC_KEY_FILE=.* is not the path of a readable PEM public key/),
    });
    const dir = mkdtempSync(join(tmpdir(), "tp-saga-jwt-"));
    try {
      const pem = join(dir, "public.pem");
      writeFileSync(pem, generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }));
      const both = await start({ OPERATOR_JWT_SECRET: "x".repeat(40), OPERATOR_JWT_PUBLIC_KEY_FILE: pem }).catch(
        (err: { code: number; stderr: string }) => err,
      );
      expect(both).toMatchObject({ code: 1, stderr: expect.stringMatching(/OPERATOR_JWT_SECRET and OPERATOR_JWT_PUBLIC_KEY_FILE are both set/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
