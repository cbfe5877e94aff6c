import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { errors as joseErrors, jwtVerify } from "jose";
import type { EnvField } from "#platform/config.js";
import { ApiKeyRing } from "./api-keys.js";

/** How operators prove who they are: API keys, bearer JWTs, both, or neither (loopback only). */
export interface OperatorAuthConfig {
  readonly apiKeys: ApiKeyRing;
  /** HS256 shared secret (at least 32 bytes), or a public key whose type fixes the algorithms. */
  readonly jwtKey?: Uint8Array | KeyObject;
  /** Required `iss` and `aud` of a JWT, when set. */
  readonly jwtIssuer?: string;
  readonly jwtAudience?: string;
}

/** What a request presents: its `Authorization` header, where it comes from, and the `Host` it asked for. */
export interface OperatorRequest {
  readonly authorization: string | undefined;
  readonly remoteAddress: string | undefined;
  readonly host: string | undefined;
}

/** Who the operator is (recorded as the actor of an action), or why not: 401 no credential, 403 a wrong one. */
export type OperatorAuthResult =
  { readonly ok: true; readonly principal: string } | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

export interface OperatorAuthenticator {
  /** `credentials` when keys or a JWT key are configured; `loopback` when nothing is, and only loopback clients are served. */
  readonly mode: "credentials" | "loopback";
  authenticate(request: OperatorRequest): Promise<OperatorAuthResult>;
}

/** The actor recorded for an action taken from loopback when no credential is configured. */
export const LOOPBACK_PRINCIPAL = "loopback";

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MIN_JWT_SECRET_BYTES = 32;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** A `Host` naming the loopback interface: a page of another site that resolves its name to 127.0.0.1 (DNS rebinding) is refused. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The algorithms a public key may verify, from its type (an HS256 secret is a Uint8Array). */
function algorithmsOf(key: Uint8Array | KeyObject): string[] {
  if (key instanceof Uint8Array) return ["HS256"];
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256", "RS384", "RS512"];
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"];
    case "ec":
      return ["ES256", "ES384", "ES512"];
    case "ed25519":
      return ["EdDSA", "Ed25519"];
    default:
      throw new Error(`a ${key.asymmetricKeyType} key cannot verify JWTs`);
  }
}

/**
 * The operator authentication of the gateway: the console's API and the REST operator actions
 * pass through it. With API keys or a JWT key configured, every request needs
 * `Authorization: Bearer <key or JWT>`: none is 401, a wrong or expired one 403, a right one
 * gives its holder's name (the key's name, the JWT's `sub`). With nothing configured
 * (`npm start`'s default) only loopback clients asking for a loopback `Host` are served, as the
 * actor `loopback`: anyone who can reach loopback can already call the orchestrator's gRPC
 * port, so this exposes nothing more, and the Host check keeps other web sites out
 * (docs/operations.md, "Operator authentication").
 */
export function createOperatorAuthenticator(config: OperatorAuthConfig): OperatorAuthenticator {
  const jwtKey = config.jwtKey;
  const algorithms = jwtKey === undefined ? [] : algorithmsOf(jwtKey);
  const mode = !config.apiKeys.isEmpty || jwtKey !== undefined ? "credentials" : "loopback";

  async function verifyJwt(token: string): Promise<OperatorAuthResult> {
    try {
      const { payload } = await jwtVerify(token, jwtKey!, {
        algorithms,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        requiredClaims: ["sub", "exp"],
      });
      const subject = payload.sub ?? "";
      if (!/^[^\s\p{Cc}]{1,200}$/u.test(subject)) return { ok: false, status: 403, message: "credential: the JWT's sub is not a usable name" };
      return { ok: true, principal: subject };
    } catch (err) {
      const why =
        err instanceof joseErrors.JWTExpired
          ? "the JWT has expired"
          : err instanceof joseErrors.JOSEError
            ? `the JWT is not accepted (${err.code})`
            : "the JWT is not accepted";
      return { ok: false, status: 403, message: `credential: ${why}` };
    }
  }

  return {
    mode,
    async authenticate(request) {
      if (mode === "loopback") {
        if (isLoopbackAddress(request.remoteAddress) && isLoopbackHost(request.host)) return { ok: true, principal: LOOPBACK_PRINCIPAL };
        return {
          ok: false,
          status: 403,
          message:
            "operator actions and the console API are served to loopback clients only, since no OPERATOR_API_KEYS, OPERATOR_JWT_SECRET or OPERATOR_JWT_PUBLIC_KEY_FILE is configured",
        };
      }
      const header = request.authorization;
      if (header === undefined || header.trim() === "")
        return { ok: false, status: 401, message: "credential: missing (send Authorization: Bearer <API key or JWT>)" };
      const match = /^Bearer +(\S+) *$/i.exec(header);
      if (!match) return { ok: false, status: 401, message: "credential: the Authorization header is not Bearer <API key or JWT>" };
      const token = match[1]!;
      if (jwtKey !== undefined && JWT_SHAPE.test(token)) return verifyJwt(token);
      const holder = config.apiKeys.identify(token);
      if (holder !== undefined) return { ok: true, principal: holder };
      return { ok: false, status: 403, message: "credential: not a valid API key or JWT" };
    },
  };
}

/** `OPERATOR_API_KEYS`: `name:key,name:key`. */
export function apiKeysField(): EnvField<ApiKeyRing> {
  return {
    default: ApiKeyRing.parse("OPERATOR_API_KEYS", ""),
    secret: true,
    describe: "a list name:key,name:key with names of letters, digits and ._@- and keys of 16 or more printable characters (value not shown)",
    parse: (text) => ApiKeyRing.parse("OPERATOR_API_KEYS", text),
  };
}

/** `OPERATOR_JWT_SECRET`: an HS256 secret of at least 32 bytes. */
export function jwtSecretField(): EnvField<Uint8Array | null> {
  return {
    default: null,
    secret: true,
    describe: `an HS256 secret of at least ${MIN_JWT_SECRET_BYTES} bytes (value not shown)`,
    parse: (text) => {
      const bytes = new TextEncoder().encode(text);
      if (bytes.length < MIN_JWT_SECRET_BYTES) throw new Error();
      return bytes;
    },
  };
}

/** `OPERATOR_JWT_PUBLIC_KEY_FILE`: a PEM public key (RSA, EC or Ed25519) that verifies JWTs. */
export function jwtPublicKeyFileField(): EnvField<KeyObject | null> {
  return {
    default: null,
    describe: "the path of a readable PEM public key (RSA, RSA-PSS, EC or Ed25519)",
    parse: (path) => {
      const key = createPublicKey(readFileSync(path, "utf8"));
      algorithmsOf(key);
      return key;
    },
  };
}
