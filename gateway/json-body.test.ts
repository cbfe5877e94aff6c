import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpError } from "./http-errors.js";
import { charsetOf, declaresBody, isJsonContentType, readJsonBody } from "./json-body.js";

const LIMIT = 1024;
const ORDER = JSON.stringify({ customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] });

/** What the reader made of one request, as the server saw it. */
interface Reading {
  readonly status: number;
  readonly value?: unknown;
  readonly error?: string;
  /** Whether the request had been read to its end when the reader settled. */
  readonly readOff: boolean;
}

// A real HTTP server whose one handler reads the body with readJsonBody and answers what it got.
let server: Server;
let port: number;
const readings: Reading[] = [];
/** Requests the handler has been given so far. */
let started = 0;

/** Resolves once `condition` holds, looking again every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    started++;
    const settle = (reading: Reading) => {
      readings.push(reading);
      res.writeHead(reading.status, { "content-type": "application/json" }).end(JSON.stringify(reading));
    };
    readJsonBody(req, LIMIT).then(
      (value) => settle({ status: 200, value, readOff: req.readableEnded }),
      (err: unknown) => {
        if (!(err instanceof HttpError)) throw err;
        settle({ status: err.status, error: err.message, readOff: req.readableEnded || req.destroyed });
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `body` in the given pieces (chunked when there is more than one, or with `chunked`), and reads the reader's answer. */
function send(body: Buffer | string, headers: Record<string, string> = {}, options: { pieces?: number[]; chunked?: boolean } = {}): Promise<Reading> {
  const bytes = Buffer.from(body);
  const chunked = options.chunked ?? (options.pieces !== undefined && options.pieces.length > 0);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/",
        headers: {
          "content-type": "application/json",
          ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": bytes.length }),
          ...headers,
        },
      },
      (res: IncomingMessage) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve(JSON.parse(text) as Reading));
      },
    );
    req.on("error", reject);
    let at = 0;
    for (const size of options.pieces ?? []) {
      req.write(bytes.subarray(at, at + size));
      at += size;
    }
    req.end(bytes.subarray(at));
  });
}

describe("the request headers", () => {
  it("declares a body with a Content-Length above 0 or a Transfer-Encoding, not otherwise", () => {
    expect(declaresBody({ "content-length": "12" })).toBe(true);
    expect(declaresBody({ "transfer-encoding": "chunked" })).toBe(true);
    expect(declaresBody({ "content-length": "0" })).toBe(false);
    expect(declaresBody({})).toBe(false);
  });

  it("takes application/json in any case, with any parameters, and nothing else", () => {
    for (const type of ["application/json", "APPLICATION/Json", "application/json; charset=utf-8", " application/json\t;x", "application/json;"])
      expect(isJsonContentType(type), type).toBe(true);
    for (const type of [
      undefined,
      "",
      "text/json",
      "application/jsonx",
      "application/*",
      "*/*",
      "application/vnd.api+json",
      "application/json\u00a0",
    ])
      expect(isJsonContentType(type), String(type)).toBe(false);
  });

  it("reads the first charset parameter, quoted or not, and none from a part that is not a parameter", () => {
    expect(charsetOf("application/json")).toBeUndefined();
    expect(charsetOf("application/json; charset=UTF-8")).toBe("UTF-8");
    expect(charsetOf("application/json;CHARSET = utf-8 ")).toBe("utf-8");
    expect(charsetOf('application/json; charset="ut\\f-8"; x=1')).toBe("utf-8");
    expect(charsetOf('application/json; x="a;charset=latin1"; charset=utf-8')).toBe("utf-8");
    expect(charsetOf("application/json; charset=utf-8; charset=latin1")).toBe("utf-8");
    expect(charsetOf("application/json; charset; ;charset=")).toBe("");
    expect(charsetOf('application/json; charset="utf-8')).toBeUndefined();
  });
});

describe("reading a JSON body", () => {
  it("parses any JSON value; an empty body is {}; a byte-order mark is dropped", async () => {
    expect(await send(ORDER)).toMatchObject({ status: 200, value: JSON.parse(ORDER) });
    expect(await send("[1,2]")).toMatchObject({ status: 200, value: [1, 2] });
    expect(await send('"text"')).toMatchObject({ status: 200, value: "text" });
    expect(await send("", {}, { chunked: true })).toMatchObject({ status: 200, value: {} });
    expect(await send(`\ufeff${ORDER}`)).toMatchObject({ status: 200, value: JSON.parse(ORDER) });
  });

  it("refuses text that is not JSON with a 400", async () => {
    for (const text of ["{", " ", `\ufeff\ufeff${ORDER}`, `${ORDER}x`])
      expect(await send(text), text).toMatchObject({ status: 400, error: "body: malformed JSON" });
  });

  it("reads a body sent in pieces, a character split between them", async () => {
    const body = JSON.stringify({ customerId: "ñandú-😀", items: [] });
    const bytes = Buffer.from(body);
    for (let cut = 1; cut < bytes.length; cut += 2) {
      expect(await send(bytes, {}, { pieces: [cut, 1] }), `cut at ${cut}`).toMatchObject({ status: 200, value: JSON.parse(body) });
    }
  });

  it("decodes bytes that are not UTF-8 as U+FFFD, as they came", async () => {
    const bytes = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff, 0xe2, 0x82]), Buffer.from('":1}')]);
    expect(await send(bytes, {}, { pieces: [3, 2] })).toMatchObject({ status: 200, value: { "a\ufffd\ufffd": 1 } });
  });
});

describe("Content-Encoding", () => {
  it("decodes gzip, deflate and br, in any case, and identity", async () => {
    const value = JSON.parse(ORDER) as unknown;
    expect(await send(gzipSync(ORDER), { "content-encoding": "gzip" })).toMatchObject({ status: 200, value });
    expect(await send(gzipSync(ORDER), { "content-encoding": "GZip" }, { pieces: [5, 5, 5] })).toMatchObject({ status: 200, value });
    expect(await send(deflateSync(ORDER), { "content-encoding": "deflate" })).toMatchObject({ status: 200, value });
    expect(await send(brotliCompressSync(ORDER), { "content-encoding": "br" })).toMatchObject({ status: 200, value });
    expect(await send(ORDER, { "content-encoding": "identity" })).toMatchObject({ status: 200, value });
  });

  it("refuses a body that does not decode as it says with a 400 naming the encoding, once the body is read off", async () => {
    expect(await send(ORDER, { "content-encoding": "gzip" })).toEqual({
      status: 400,
      error: "body: does not decode as its Content-Encoding (gzip) says",
      readOff: true,
    });
    expect(await send(gzipSync(ORDER).subarray(0, 20), { "content-encoding": "gzip" })).toMatchObject({ status: 400 });
    expect(await send(gzipSync(ORDER), { "content-encoding": "DEFLATE" })).toMatchObject({
      status: 400,
      error: "body: does not decode as its Content-Encoding (DEFLATE) says",
    });
  });

  it("refuses an encoding it does not read with a 415 at once", async () => {
    for (const encoding of ["zstd", "x-gzip", "gzip, gzip", "compress", "constructor", "__proto__", "toString"]) {
      expect(await send(ORDER, { "content-encoding": encoding }), encoding).toMatchObject({
        status: 415,
        error: "Content-Encoding: unsupported (the gateway reads gzip, deflate, br or identity)",
      });
    }
  });
});

describe("the size limit", () => {
  it("takes a body of exactly the limit, refuses one byte more with a 413 (declared or sent chunked), once read off", async () => {
    const at = (size: number) => JSON.stringify("x".repeat(size - 2));
    expect(await send(at(LIMIT))).toMatchObject({ status: 200 });
    expect(await send(at(LIMIT + 1))).toEqual({ status: 413, error: "body: too large", readOff: true });
    expect(await send(at(LIMIT + 1), {}, { pieces: [100, 100] })).toEqual({ status: 413, error: "body: too large", readOff: true });
  });

  it("counts the bytes once decoded, so a small gzip of a large body is refused", async () => {
    const bomb = gzipSync(JSON.stringify("x".repeat(1_000_000)));
    expect(bomb.length).toBeLessThan(LIMIT * 2);
    expect(await send(bomb, { "content-encoding": "gzip" })).toEqual({ status: 413, error: "body: too large", readOff: true });
  });
});

describe("charsets", () => {
  const withCharset = (charset: string) => ({ "content-type": `application/json; charset=${charset}` });

  it("reads UTF-8 however body-parser spelt it, an empty charset as none, and UTF-16LE", async () => {
    for (const charset of ["utf-8", "UTF-8", '"utf-8"', "utf-_8", "utf-8:1234", ""]) {
      expect(await send(ORDER, withCharset(charset)), charset).toMatchObject({ status: 200 });
    }
    expect(await send(Buffer.from(`\ufeff${ORDER}`, "utf16le"), withCharset("utf-16le"))).toMatchObject({ status: 200, value: JSON.parse(ORDER) });
  });

  it("refuses any other charset with a 415", async () => {
    for (const charset of ["latin1", "utf8", "us-ascii", "utf-16", "utf-16be", "utf-32", "utf-7", "utf-nope"]) {
      expect(await send(ORDER, withCharset(charset)), charset).toMatchObject({
        status: 415,
        error: "Content-Type: unsupported charset (the gateway reads utf-8)",
      });
    }
  });
});

describe("a client that stops sending", () => {
  it("is refused with a 400 once its connection is gone, and the reader does not hang", async () => {
    const [before, startedBefore] = [readings.length, started];
    const socket = connect(port, "127.0.0.1");
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${ORDER.length}\r\n\r\n${ORDER.slice(0, 10)}`);
    // The request is being read when the connection goes.
    await until(() => started > startedBefore);
    socket.destroy();
    await until(() => readings.length > before);
    expect(readings[before]).toEqual({
      status: 400,
      error: "body: the client stopped sending it before Content-Length bytes arrived",
      readOff: true,
    });
  });

  it("is refused with a 400 in the middle of a gzip body too", async () => {
    const [before, startedBefore] = [readings.length, started];
    const gzip = gzipSync(ORDER);
    const socket = connect(port, "127.0.0.1");
    socket.write(
      Buffer.concat([
        Buffer.from(
          `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${gzip.length}\r\n\r\n`,
        ),
        gzip.subarray(0, 15),
      ]),
    );
    await until(() => started > startedBefore);
    socket.destroy();
    await until(() => readings.length > before);
    expect(readings[before]).toMatchObject({ status: 400, error: "body: the client stopped sending it before Content-Length bytes arrived" });
  });
});
