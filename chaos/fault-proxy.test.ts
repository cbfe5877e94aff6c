import { afterEach, beforeEach, describe, expect, it } from "vitest";
import net from "node:net";
import http2 from "node:http2";
import { randomBytes } from "node:crypto";
import { FrameHeaderReader, startFaultProxy, type FaultProxy } from "./fault-proxy.js";

/** A tiny TCP echo server on a free port that remembers every byte it was sent. */
async function startEcho(port = 0): Promise<{ port: number; received: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.on("data", (b) => {
      chunks.push(b);
      s.write(b);
    });
    s.on("end", () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Trip {
  received: Buffer;
  error?: string;
  ms: number;
}

/** Sends `data` through `port` and collects the echo until it is complete, the socket closes, or `timeoutMs`. */
function roundTrip(port: number, data: Buffer, timeoutMs = 5_000): Promise<Trip> {
  return new Promise((resolve) => {
    const started = Date.now();
    const got: Buffer[] = [];
    let length = 0;
    let error: string | undefined;
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(got), error, ms: Date.now() - started });
    };
    const timer = setTimeout(() => {
      error = "timeout";
      done();
    }, timeoutMs);
    socket.on("connect", () => socket.write(data));
    socket.on("data", (b) => {
      got.push(b);
      length += b.length;
      if (length >= data.length) done();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on("close", () => {
      error ??= "closed";
      done();
    });
  });
}

describe("fault proxy over TCP (raw)", () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: FaultProxy;
  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ upstreamPort: echo.port, seed: 42, delayMs: 300 });
  });
  afterEach(async () => {
    await proxy.close();
    await echo.close();
  });

  it("passes bytes through untouched while faults are off", async () => {
    const payloads = [Buffer.from("hello"), randomBytes(1 << 20), randomBytes(70_000), randomBytes(1)];
    const trips = await Promise.all(payloads.map((p) => roundTrip(proxy.port, p)));
    trips.forEach((t, i) => {
      expect(t.error).toBeUndefined();
      expect(t.received.equals(payloads[i]!)).toBe(true);
    });
    expect(proxy.counts).toEqual({ drop: 0, delay: 0, lostReply: 0, lateRequest: 0 });
    expect(proxy.stats()).toMatchObject({ connections: 4, bytesToServer: payloads.reduce((n, p) => n + p.length, 0) });
  });

  it("drops the connection mid-stream, and counts it", async () => {
    proxy.setFaults({ drop: 1 });
    const data = randomBytes(4_096);
    const trip = await roundTrip(proxy.port, data);
    expect(trip.error).toBeDefined();
    expect(trip.received.length).toBeLessThan(data.length);
    expect(proxy.counts.drop).toBe(1);
    expect(proxy.counts.delay + proxy.counts.lostReply).toBe(0);
  });

  it("delays the reply past a deadline, then delivers it intact, and counts it", async () => {
    proxy.setFaults({ delay: 1 });
    const data = Buffer.from("ping");
    const trip = await roundTrip(proxy.port, data);
    expect(trip.error).toBeUndefined();
    expect(trip.received.equals(data)).toBe(true);
    expect(trip.ms).toBeGreaterThanOrEqual(290);
    expect(proxy.counts).toEqual({ drop: 0, delay: 1, lostReply: 0, lateRequest: 0 });
    // A caller with a shorter deadline gives up before the answer arrives.
    const impatient = await roundTrip(proxy.port, data, 150);
    expect(impatient.error).toBe("timeout");
    expect(impatient.received.length).toBe(0);
  });

  it("loses the reply after the server applied the call: the server got every byte, the client gets a reset", async () => {
    proxy.setFaults({ lostReply: 1 });
    const data = Buffer.from("charge customer-1 100");
    const trip = await roundTrip(proxy.port, data);
    expect(trip.received.length).toBe(0);
    expect(trip.error).toBe("ECONNRESET");
    expect(echo.received().toString()).toBe(data.toString());
    expect(proxy.counts).toEqual({ drop: 0, delay: 0, lostReply: 1, lateRequest: 0 });
  });

  it("delivers a request late, after the client saw its connection reset, and counts it", async () => {
    proxy.setFaults({ lateRequest: 1 });
    const data = Buffer.from("take stock 3");
    const trip = await roundTrip(proxy.port, data);
    expect(trip.error).toBe("ECONNRESET");
    expect(trip.received.length).toBe(0);
    expect(echo.received().length).toBe(0); // not yet
    expect(proxy.counts.lateRequest).toBe(0);
    await new Promise((r) => setTimeout(r, 900));
    expect(echo.received().toString()).toBe(data.toString());
    expect(proxy.counts).toEqual({ drop: 0, delay: 0, lostReply: 0, lateRequest: 1 });
  });

  it("injects an armed fault once, whatever the rates, and setFaults('off') stops injecting", async () => {
    proxy.inject("lostReply");
    const data = Buffer.from("x".repeat(100));
    expect((await roundTrip(proxy.port, data)).error).toBe("ECONNRESET");
    expect((await roundTrip(proxy.port, data)).received.equals(data)).toBe(true);
    proxy.setFaults({ drop: 1, delay: 1, lostReply: 1, lateRequest: 1 });
    proxy.inject("delay");
    proxy.setFaults("off");
    const before = { ...proxy.counts };
    for (let i = 0; i < 5; i++) expect((await roundTrip(proxy.port, data)).received.equals(data)).toBe(true);
    expect(proxy.counts).toEqual(before);
  });

  it("injects every kind at random at moderate rates, and each is counted", async () => {
    proxy.setFaults({ drop: 0.2, delay: 0.2, lostReply: 0.2, lateRequest: 0.2 });
    const data = Buffer.from("payload");
    const trips = await Promise.all(Array.from({ length: 80 }, () => roundTrip(proxy.port, data)));
    await new Promise((r) => setTimeout(r, 900)); // late requests land
    const intact = trips.filter((t) => t.received.equals(data)).length;
    expect(proxy.counts.drop).toBeGreaterThan(0);
    expect(proxy.counts.delay).toBeGreaterThan(0);
    expect(proxy.counts.lostReply).toBeGreaterThan(0);
    expect(proxy.counts.lateRequest).toBeGreaterThan(0);
    expect(intact).toBeGreaterThan(0);
    // Every connection that did not deliver its echo was hit by a counted fault.
    expect(trips.length - intact).toBeLessThanOrEqual(proxy.counts.drop + proxy.counts.lostReply + proxy.counts.lateRequest);
  });

  it("rejects rates outside [0, 1]", () => {
    expect(() => proxy.setFaults({ drop: 2 })).toThrow(RangeError);
  });

  it("survives its upstream restarting on the same port", async () => {
    const data = Buffer.from("before");
    expect((await roundTrip(proxy.port, data)).received.equals(data)).toBe(true);
    const port = echo.port;
    await echo.close();
    const down = await roundTrip(proxy.port, data, 2_000);
    expect(down.error).toBeDefined();
    expect(proxy.stats().upstreamRefused).toBe(1);
    echo = await startEcho(port);
    const after = Buffer.from("after");
    expect((await roundTrip(proxy.port, after)).received.equals(after)).toBe(true);
    expect(proxy.counts).toEqual({ drop: 0, delay: 0, lostReply: 0, lateRequest: 0 });
  });

  it("closes open connections when it is closed", async () => {
    const socket = net.connect({ host: "127.0.0.1", port: proxy.port });
    await new Promise((r) => socket.once("connect", r));
    const closed = new Promise((r) => socket.once("close", r));
    socket.on("error", () => {});
    await new Promise((r) => setTimeout(r, 50));
    await proxy.close();
    await closed;
    proxy = await startFaultProxy({ upstreamPort: echo.port, seed: 1 }); // for afterEach
  });
});

describe("HTTP/2 frame headers", () => {
  it("are read across arbitrary chunk boundaries, after the client preface", () => {
    const frame = (type: number, flags: number, stream: number, payload: number): Buffer => {
      const b = Buffer.alloc(9 + payload);
      b.writeUIntBE(payload, 0, 3);
      b[3] = type;
      b[4] = flags;
      b.writeUInt32BE(stream, 5);
      return b;
    };
    const bytes = Buffer.concat([
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      frame(4, 0, 0, 6),
      frame(1, 4, 1, 30),
      frame(0, 1, 1, 12),
      frame(3, 0, 3, 4),
    ]);
    for (const size of [1, 2, 7, 9, 10, 64, bytes.length]) {
      const reader = new FrameHeaderReader(true);
      const frames = [];
      for (let i = 0; i < bytes.length; i += size) frames.push(...reader.push(bytes.subarray(i, i + size)));
      expect(frames.map((f) => [f.type, f.flags, f.streamId, f.length])).toEqual([
        [4, 0, 0, 6],
        [1, 4, 1, 30],
        [0, 1, 1, 12],
        [3, 0, 3, 4],
      ]);
    }
  });
});

describe("fault proxy over HTTP/2 (the gRPC wire)", () => {
  let server: http2.Http2Server;
  let handled: string[];
  let proxy: FaultProxy;
  beforeEach(async () => {
    handled = [];
    server = http2.createServer((req, res) => {
      let body = "";
      req.on("data", (b) => (body += b));
      req.on("end", () => {
        handled.push(body);
        res.setHeader("content-type", "text/plain");
        res.addTrailers({ "x-status": "0" });
        res.end(`ok:${body}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    proxy = await startFaultProxy({ upstreamPort: port, seed: 7, protocol: "http2", delayMs: 400 });
  });
  afterEach(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** One POST on `session`; resolves with the body or the error's code. */
  const call = (session: http2.ClientHttp2Session, body: string, timeoutMs = 3_000): Promise<{ body?: string; error?: string; ms: number }> =>
    new Promise((resolve) => {
      const started = Date.now();
      const req = session.request({ ":method": "POST", ":path": "/apply" });
      let text = "";
      let answered = false;
      req.on("response", () => (answered = true));
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        resolve({ error: "deadline", ms: Date.now() - started });
      }, timeoutMs);
      req.setEncoding("utf8");
      req.on("data", (d: string) => (text += d));
      req.on("end", () => {
        clearTimeout(timer);
        // Node ends a stream whose session went away without an error: no response headers means no answer.
        resolve(answered ? { body: text, ms: Date.now() - started } : { error: "no response", ms: Date.now() - started });
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ error: e.code ?? e.message, ms: Date.now() - started });
      });
      req.end(body);
    });
  const connect = (): http2.ClientHttp2Session => {
    const s = http2.connect(proxy.url);
    s.on("error", () => {});
    return s;
  };

  it("passes many multiplexed calls through untouched while faults are off", async () => {
    const session = connect();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(session, `call-${i}`)));
    session.close();
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 50 }, (_, i) => `ok:call-${i}`));
    expect(proxy.counts).toEqual({ drop: 0, delay: 0, lostReply: 0, lateRequest: 0 });
  });

  it("loses the answer of a call the server applied", async () => {
    const warm = connect();
    expect((await call(warm, "warm-up")).body).toBe("ok:warm-up");
    proxy.inject("lostReply");
    const lost = await call(warm, "charge-1");
    expect(lost.body).toBeUndefined();
    expect(lost.error).toBeDefined();
    expect(handled).toContain("charge-1");
    expect(proxy.counts.lostReply).toBe(1);
    expect(proxy.stats().lostReplyUnconfirmed).toBe(0);
    warm.destroy();
    // A new connection works: a retry with the same key would reach the server again.
    const next = connect();
    expect((await call(next, "charge-1")).body).toBe("ok:charge-1");
    next.close();
  });

  it("delays the answer past the caller's deadline", async () => {
    const session = connect();
    expect((await call(session, "warm-up")).body).toBe("ok:warm-up");
    proxy.inject("delay");
    const late = await call(session, "slow", 200);
    expect(late.error).toBe("deadline");
    expect(handled).toContain("slow");
    expect(proxy.counts.delay).toBe(1);
    // Once the hold is over, the same connection carries answers again.
    await new Promise((r) => setTimeout(r, 400));
    expect((await call(session, "after")).body).toBe("ok:after");
    session.close();
  });

  it("delivers a request after its caller saw the connection fail", async () => {
    const session = connect();
    expect((await call(session, "warm-up")).body).toBe("ok:warm-up");
    proxy.inject("lateRequest");
    const failed = await call(session, "take-late");
    expect(failed.error).toBeDefined();
    expect(handled).not.toContain("take-late");
    // The caller moves on over a new connection (a compensation, say), which arrives first.
    const next = connect();
    expect((await call(next, "restore")).body).toBe("ok:restore");
    await new Promise((r) => setTimeout(r, 900));
    expect(handled).toEqual(["warm-up", "restore", "take-late"]);
    expect(proxy.counts.lateRequest).toBe(1);
    session.destroy();
    next.close();
  });

  it("drops a connection mid-stream", async () => {
    const session = connect();
    expect((await call(session, "warm-up")).body).toBe("ok:warm-up");
    proxy.inject("drop");
    const dropped = await call(session, "cut");
    expect(dropped.error).toBeDefined();
    expect(proxy.counts.drop).toBe(1);
    session.destroy();
  });
});
