import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ConfigError } from "#platform/config.js";

/** The shortest key accepted: a key short enough to guess is no key. */
export const MIN_API_KEY_LENGTH = 16;

const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
// What a header value can carry without quoting: visible ASCII except the separators of the list.
const KEY = /^[\x21-\x7e]+$/;

/**
 * A set of named API keys, as `name:key,name:key` in one variable. A presented key is looked up
 * in constant time: its SHA-256 is compared with every configured key's, all of them, with
 * `timingSafeEqual`, so the time taken says nothing about how close a guess was or which key it
 * resembled. Only the digests are kept.
 */
export class ApiKeyRing {
  private constructor(private readonly entries: ReadonlyArray<{ readonly name: string; readonly digest: Buffer }>) {}

  /**
   * Parses `name:key` pairs separated by commas (spaces around each are ignored). Names are
   * letters, digits and `._@-`, up to 64; keys are visible ASCII without commas, at least
   * {@link MIN_API_KEY_LENGTH} characters. Empty text is an empty ring.
   * @throws ConfigError naming `variable` and the entry at fault (by position and name, never showing a key):
   * no colon, a bad name or key, a name given twice, or two names with one key.
   */
  static parse(variable: string, text: string): ApiKeyRing {
    const entries: { name: string; digest: Buffer }[] = [];
    const problems: string[] = [];
    const parts = text.trim() === "" ? [] : text.split(",");
    parts.forEach((part, index) => {
      const entry = part.trim();
      const colon = entry.indexOf(":");
      const at = `entry ${index + 1}`;
      if (colon < 0) return void problems.push(`${at} is not name:key`);
      const name = entry.slice(0, colon);
      const key = entry.slice(colon + 1);
      if (!NAME.test(name)) return void problems.push(`${at} has a name that is not 1 to 64 letters, digits or ._@-`);
      if (key.length < MIN_API_KEY_LENGTH) return void problems.push(`the key of ${name} is shorter than ${MIN_API_KEY_LENGTH} characters`);
      if (!KEY.test(key)) return void problems.push(`the key of ${name} has a character that is not visible ASCII`);
      const digest = digestOf(key);
      const sameName = entries.find((e) => e.name === name);
      const sameKey = entries.find((e) => e.digest.equals(digest));
      if (sameName) return void problems.push(`${name} is given twice`);
      if (sameKey) return void problems.push(`${sameKey.name} and ${name} have the same key`);
      entries.push({ name, digest });
    });
    if (problems.length > 0) throw new ConfigError(`${variable}: ${problems.join("; ")} (expected name:key,name:key; keys are not shown here)`);
    return new ApiKeyRing(entries);
  }

  /** True when no key is configured (the endpoint is open). */
  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** The names of the keys, for logs and metrics. */
  get names(): readonly string[] {
    return this.entries.map((e) => e.name);
  }

  /** The name of the key `presented` is, or undefined; in constant time with respect to the configured keys. */
  identify(presented: string): string | undefined {
    const digest = digestOf(presented);
    let found: string | undefined;
    for (const entry of this.entries) {
      // Every entry is compared, whatever matched before.
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.name;
    }
    return found;
  }
}

/** What a request carries as its API key: the key, none, or a fault in how it was given. */
export type PresentedKey =
  { readonly kind: "key"; readonly key: string } | { readonly kind: "none" } | { readonly kind: "malformed"; readonly error: string };

/**
 * The API key a request presents, as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
 * Both may be given if they agree. An Authorization header of another scheme, an empty key, or
 * two headers that disagree is `malformed`, with the reason.
 */
export function presentedKey(headers: IncomingHttpHeaders): PresentedKey {
  const authorization = headers.authorization;
  const apiKey = headers["x-api-key"];
  let bearer: string | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) return { kind: "malformed", error: "Authorization: expected 'Bearer <API key>'" };
    bearer = match[1];
  }
  // Node joins a repeated X-Api-Key into one value ("a, b"), which is then no key.
  const header = (Array.isArray(apiKey) ? apiKey.join(", ") : apiKey)?.trim();
  if (header === "") return { kind: "malformed", error: "X-Api-Key: empty" };
  if (bearer !== undefined && header !== undefined && bearer !== header) {
    return { kind: "malformed", error: "Authorization and X-Api-Key carry different keys: give the key once" };
  }
  const key = bearer ?? header;
  return key === undefined ? { kind: "none" } : { kind: "key", key };
}

function digestOf(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
