import { createHash, timingSafeEqual } from "node:crypto";

/** One named API key: `name` is who holds it (the principal), `key` the secret. */
export interface ApiKeyEntry {
  readonly name: string;
  readonly key: string;
}

/** Shortest key accepted: 16 characters, so a key cannot be guessed by trying. */
export const MIN_API_KEY_LENGTH = 16;

/**
 * Reads `name:key,name:key,…` (the form of `OPERATOR_API_KEYS`). Names are unique, made of
 * letters, digits and `._@-`; keys are at least 16 printable characters without `,`.
 * @throws Error naming the entry at fault (by position and name, never showing a key).
 */
export function parseApiKeys(text: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const parts = text.split(",").map((part) => part.trim());
  parts.forEach((part, index) => {
    const colon = part.indexOf(":");
    const name = colon < 0 ? "" : part.slice(0, colon);
    const key = colon < 0 ? "" : part.slice(colon + 1);
    if (!/^[A-Za-z0-9._@-]{1,200}$/.test(name)) throw new Error(`entry ${index + 1}: not name:key with a name of letters, digits and ._@-`);
    if (key.length < MIN_API_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key))
      throw new Error(`entry ${index + 1} (${name}): the key must be at least ${MIN_API_KEY_LENGTH} printable characters, no spaces`);
    if (entries.some((entry) => entry.name === name)) throw new Error(`entry ${index + 1}: the name ${name} is given twice`);
    entries.push({ name, key });
  });
  return entries;
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * A constant-time lookup of a presented key among the configured ones: every configured key is
 * compared, each with `timingSafeEqual` on SHA-256 digests (equal lengths whatever was sent), so
 * neither which key matched nor how much of one matched shows in the time taken. Returns the
 * holder's name, or undefined.
 */
export function createApiKeyChecker(entries: readonly ApiKeyEntry[]): (presented: string) => string | undefined {
  const digests = entries.map((entry) => ({ name: entry.name, digest: digest(entry.key) }));
  return (presented) => {
    const candidate = digest(presented);
    let holder: string | undefined;
    for (const entry of digests) if (timingSafeEqual(entry.digest, candidate) && holder === undefined) holder = entry.name;
    return holder;
  };
}
