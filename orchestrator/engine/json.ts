/** Plain JSON: what the saga log stores as inputs and step outputs. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const MAX_DEPTH = 64;

/**
 * Tells whether `value` survives a JSON round trip unchanged: null, booleans, finite
 * numbers, strings, arrays and plain objects of those. The runner checks step outputs with
 * it before logging them, so a step that returns a proto message (with `bigint` fields) or
 * a class instance fails loudly instead of corrupting the log. Never throws.
 */
export function isJson(value: unknown, depth = 0): value is Json {
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (!isJson(item, depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!isJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
