import { HttpError } from "./http-errors.js";

/** How much of a client's text an error message quotes. */
const QUOTE_LENGTH = 64;

/** `text` as JSON, cut to a readable length, for error messages that quote the client. */
export function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_LENGTH ? `${text.slice(0, QUOTE_LENGTH)}…` : text);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part.replaceAll("+", " "));
  } catch {
    throw new HttpError(400, `query: ${what} ${quote(part)} is not valid percent-encoded UTF-8`);
  }
}

/**
 * Reads the query string of `url` strictly: every parameter must be one of `accepted`, given
 * once, and percent-encoded UTF-8. Express's own parsers drop what they do not understand or
 * turn `status[]=…` and repeated keys into arrays and objects a handler would silently
 * ignore; here each of those is a 400 naming the parameter.
 * @throws HttpError 400 naming the parameter at fault.
 */
export function readQuery(url: string, accepted: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  const start = url.indexOf("?");
  if (start < 0) return params;
  for (const pair of url.slice(start + 1).split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = decode(equals < 0 ? pair : pair.slice(0, equals), "parameter name");
    const value = equals < 0 ? "" : decode(pair.slice(equals + 1), `value of ${quote(name)}`);
    if (!accepted.includes(name)) {
      const takes = accepted.length === 0 ? "takes no query parameters" : `takes ${accepted.join(", ")}`;
      throw new HttpError(400, `query: unknown parameter ${quote(name)} (this endpoint ${takes})`);
    }
    if (params.has(name))
      throw new HttpError(400, `${name}: given more than once (give it once${name === "status" ? ", as a comma-separated list" : ""})`);
    params.set(name, value);
  }
  return params;
}
