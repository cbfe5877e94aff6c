// `npm run mint-token`: makes an operator API key, or signs an operator JWT (docs/operations.md, "Operator authentication").
import { createPrivateKey, randomBytes, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { readEnv, text } from "#platform/config.js";
import { jwtSecretField } from "./operator-auth.js";

const USAGE = `usage:
  npm run mint-token -- key --name <name>                  a new API key, as an OPERATOR_API_KEYS entry
  npm run mint-token -- jwt --sub <name> [--ttl <seconds>]  a JWT signed with OPERATOR_JWT_SECRET (HS256),
        [--private-key-file <pem>]                          or with this private key (RS256, ES256 or EdDSA, by its type)
  OPERATOR_JWT_ISSUER and OPERATOR_JWT_AUDIENCE, when set, become the JWT's iss and aud.`;

/** The JWT algorithm of a private key, from its type (the gateway accepts the same family for the public key). */
function algorithmOf(key: KeyObject): string {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "rsa-pss") return "PS256";
  if (key.asymmetricKeyType === "ec")
    return { prime256v1: "ES256", secp384r1: "ES384", secp521r1: "ES512" }[key.asymmetricKeyDetails?.namedCurve ?? ""] ?? "ES256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  throw new Error(`a ${key.asymmetricKeyType} key cannot sign JWTs`);
}

async function main(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: "string" }, sub: { type: "string" }, ttl: { type: "string", default: "28800" }, "private-key-file": { type: "string" } },
  });
  const kind = positionals[0];
  if (kind === "key") {
    const name = values.name ?? "";
    if (!/^[A-Za-z0-9._@-]{1,200}$/.test(name)) throw new Error("--name: required, letters, digits and ._@-");
    const key = randomBytes(32).toString("base64url");
    return `${name}:${key}\n(add it to OPERATOR_API_KEYS, comma-separated; the operator sends Authorization: Bearer ${key})`;
  }
  if (kind === "jwt") {
    const sub = values.sub ?? "";
    if (!/^[^\s\p{Cc}]{1,200}$/u.test(sub)) throw new Error("--sub: required, the operator's name (recorded as the actor of what they do)");
    const ttl = Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 31 * 86_400) throw new Error("--ttl: seconds, from 1 to 2678400 (31 days)");
    const env = readEnv({ OPERATOR_JWT_SECRET: jwtSecretField(), OPERATOR_JWT_ISSUER: text(""), OPERATOR_JWT_AUDIENCE: text("") });
    const privateKey = values["private-key-file"] ? createPrivateKey(readFileSync(values["private-key-file"], "utf8")) : undefined;
    if (!privateKey && !env.OPERATOR_JWT_SECRET) throw new Error("set OPERATOR_JWT_SECRET (the gateway's) or give --private-key-file");
    let jwt = new SignJWT({})
      .setProtectedHeader({ alg: privateKey ? algorithmOf(privateKey) : "HS256" })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
    if (env.OPERATOR_JWT_ISSUER) jwt = jwt.setIssuer(env.OPERATOR_JWT_ISSUER);
    if (env.OPERATOR_JWT_AUDIENCE) jwt = jwt.setAudience(env.OPERATOR_JWT_AUDIENCE);
    return jwt.sign(privateKey ?? env.OPERATOR_JWT_SECRET!);
  }
  throw new Error(USAGE);
}

try {
  console.log(await main(process.argv.slice(2)));
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  if (!(err instanceof Error && err.message === USAGE)) console.error(USAGE);
  process.exitCode = 1;
}
