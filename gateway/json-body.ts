import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Readable, Transform } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { HttpError } from "./http-errors.js";

/**
 * The gateway's reader of JSON request bodies, in place of Express's body-parser (which, with
 * raw-body, type-is, content-type and iconv-lite, was about 8 % of the gateway's CPU under load).
 * It reads what body-parser read, the way the gateway configured it (any JSON value, a size
 * limit), and refuses what it refused with the same status:
 * - the body is decoded by its `Content-Encoding` (gzip, deflate, br or identity, any case;
 *   anything else 415), and one that does not decode as it says is a 400;
 * - the limit counts the bytes after decoding; a `Content-Length` above it is refused before
 *   reading; past it, 413;
 * - the charset of `Content-Type` must be UTF-8 (spelt as body-parser took it: `utf-8`,
 *   `UTF-8`, `"utf-8"`, `utf-_8`…) or UTF-16LE, and a leading byte-order mark is dropped; any
 *   other charset is a 415;
 * - an empty body is `{}`, text that is not JSON a 400;
 * - a client that stops sending before its body is whole gets a 400 (on a closed connection).
 * A refusal found while reading (too large, undecodable, a charset it cannot decode, aborted)
 * is answered once the rest of the body has been read off, as body-parser did; a refusal found
 * from the headers alone is answered at once.
 */

/** The faults of a body, as the client can fix them. */
const FAULTS = {
  malformed: [400, "body: malformed JSON"],
  tooLarge: [413, "body: too large"],
  encoding: [415, "Content-Encoding: unsupported (the gateway reads gzip, deflate, br or identity)"],
  charset: [415, "Content-Type: unsupported charset (the gateway reads utf-8)"],
  aborted: [400, "body: the client stopped sending it before Content-Length bytes arrived"],
  sizeMismatch: [400, "Content-Length: does not match the length of the body"],
} as const satisfies Record<string, readonly [number, string]>;

const fault = (which: keyof typeof FAULTS): HttpError => new HttpError(FAULTS[which][0], FAULTS[which][1]);

/** True when a request declares a body: a `Content-Length` above 0, or a `Transfer-Encoding`. Without one, there is no body (not an empty one). */
export function declaresBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers["content-length"] ?? 0) > 0 || headers["transfer-encoding"] !== undefined;
}

/** Optional whitespace of a header value (RFC 9110: space and tab only). */
const isOws = (code: number): boolean => code === 0x20 || code === 0x09;

/** `text` without the spaces and tabs around it (not `trim()`, which takes more). */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** True when `Content-Type` is `application/json`, in any case, with any parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semicolon = contentType.indexOf(";");
  return trimOws(semicolon < 0 ? contentType : contentType.slice(0, semicolon)).toLowerCase() === "application/json";
}

/**
 * The `charset` parameter of a `Content-Type` (the first one given), unquoted; undefined
 * without one. Parameters are read leniently, as body-parser's parser did: a part without `=`
 * is skipped, a quoted value takes backslash escapes and ends at its closing quote.
 */
export function charsetOf(contentType: string): string | undefined {
  let index = contentType.indexOf(";");
  if (index < 0) return undefined;
  const length = contentType.length;
  const skipOws = (at: number): number => {
    while (at < length && isOws(contentType.charCodeAt(at))) at++;
    return at;
  };
  const valueEnd = (at: number): number => {
    const semicolon = contentType.indexOf(";", at);
    return semicolon < 0 ? length : semicolon;
  };
  // `index` is at a semicolon (or the end) at the top of each turn.
  while (index < length) {
    index = skipOws(index + 1);
    const keyStart = index;
    while (index < length && contentType[index] !== ";" && contentType[index] !== "=") index++;
    if (index >= length || contentType[index] === ";") continue;
    const key = trimOws(contentType.slice(keyStart, index)).toLowerCase();
    index = skipOws(index + 1);
    let value = "";
    if (index < length && contentType[index] === '"') {
      index++;
      let closed = false;
      while (index < length) {
        const char = contentType[index++]!;
        if (char === '"') {
          closed = true;
          break;
        }
        if (char === "\\" && index < length) value += contentType[index++];
        else value += char;
      }
      // A quoted value that is never closed is no value.
      if (!closed) return undefined;
      index = valueEnd(index);
    } else {
      const start = index;
      index = valueEnd(index);
      value = trimOws(contentType.slice(start, index));
    }
    if (key === "charset") return value;
  }
  return undefined;
}

/**
 * The decoder for a charset, named as body-parser named them (lowercase, without punctuation,
 * a trailing `:nnnn` dropped); undefined for one the gateway does not decode.
 */
function decoderFor(charset: string): StringDecoder | undefined {
  const name = charset.replace(/:\d{4}$|[^0-9a-z]/g, "");
  if (name === "utf8") return new StringDecoder("utf8");
  if (name === "utf16le") return new StringDecoder("utf16le");
  return undefined;
}

/** The streams that decode each `Content-Encoding` the gateway reads (lowercase), but identity. A map: a header is no key into an object's prototype. */
const DECOMPRESSORS: ReadonlyMap<string, () => Transform> = new Map([
  ["gzip", createGunzip],
  ["deflate", createInflate],
  ["br", createBrotliDecompress],
]);

/** Calls `done` once `req` has been read to its end (or its connection has closed), reading off what is left. */
function readOff(req: IncomingMessage, done: () => void): void {
  if (req.readableEnded || req.destroyed) return done();
  let called = false;
  const once = (): void => {
    if (called) return;
    called = true;
    done();
  };
  req.once("end", once);
  req.once("close", once);
  req.resume();
}

/**
 * Reads the body of `req` (which declares one, {@link declaresBody}) as JSON: any JSON value,
 * at most `limit` bytes once decoded.
 * @throws HttpError naming the fault (see the top of this file); never another error.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const contentType = req.headers["content-type"];
    // An empty charset is no charset, as body-parser read it.
    const charset = (contentType === undefined ? undefined : charsetOf(contentType)?.toLowerCase()) || "utf-8";
    if (!charset.startsWith("utf-")) return reject(fault("charset"));
    const contentEncoding = (req.headers["content-encoding"] || "identity").toLowerCase();
    const identity = contentEncoding === "identity";
    if (!identity && !DECOMPRESSORS.has(contentEncoding)) return reject(fault("encoding"));
    const decoder = decoderFor(charset);
    if (!decoder) return readOff(req, () => reject(fault("charset")));
    const declaredLength = identity && req.headers["content-length"] !== undefined ? parseInt(req.headers["content-length"], 10) : NaN;
    if (declaredLength > limit) return readOff(req, () => reject(fault("tooLarge")));
    const decompressor = identity ? undefined : DECOMPRESSORS.get(contentEncoding)!();
    const source: Readable = decompressor ?? req;
    if (decompressor) req.pipe(decompressor);

    let settled = false;
    /** Refuses the body once the request has been read off. */
    const refuse = (error: HttpError): void => {
      if (settled) return;
      settled = true;
      if (decompressor) {
        req.unpipe(decompressor);
        decompressor.destroy();
      }
      readOff(req, () => reject(error));
    };

    let received = 0;
    let text = "";
    source.on("data", (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > limit) return refuse(fault("tooLarge"));
      text += decoder.write(chunk);
    });
    source.on("end", () => {
      if (settled) return;
      if (!Number.isNaN(declaredLength) && received !== declaredLength) return refuse(fault("sizeMismatch"));
      settled = true;
      if (decompressor) {
        req.unpipe(decompressor);
        decompressor.destroy();
        // The request may still hold bytes after the end of the compressed data.
        req.resume();
      }
      text += decoder.end();
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.length === 0) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(fault("malformed"));
      }
    });
    // The request errs only when its connection breaks off (aborted, below); a decompressor
    // errs on a body that does not decode as its Content-Encoding says.
    source.on("error", () => {
      if (!decompressor) return refuse(fault("aborted"));
      const named = req.headers["content-encoding"] ?? "identity";
      refuse(new HttpError(400, `body: does not decode as its Content-Encoding (${named}) says`));
    });
    req.on("close", () => {
      if (!req.complete) refuse(fault("aborted"));
    });
  });
}
