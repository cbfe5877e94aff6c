/**
 * A fault-injecting TCP proxy on 127.0.0.1, one per service, between the orchestrator and
 * that service. Bytes pass through untouched until faults are switched on; then, on a
 * chunk chosen at random with a seeded PRNG, it injects one of three faults and counts it:
 *
 * - `drop` — the connection dropped mid-stream: a random prefix of the chunk is forwarded,
 *   then both sockets are destroyed.
 * - `delay` — the reply delayed past the caller's deadline: every server→client byte of the
 *   connection is held for `delayMs`, then released in order.
 * - `lostReply` — the reply lost after the server applied the call: the client's request is
 *   forwarded, the server's answer is discarded, and the client connection is reset.
 * - `lateRequest` — the request arrives after the caller gave up: the client connection is
 *   reset at once (the caller sees UNAVAILABLE: outcome unknown), while the request's bytes
 *   are held and delivered to the server `lateRequestMs` later over the old upstream
 *   connection — after, for example, the caller's compensation went over a new one.
 *
 * With `protocol: "http2"` the proxy reads HTTP/2 frame headers (never payloads) so that a
 * `lostReply` starts on a chunk that ends a request (END_STREAM from the client, or a DATA
 * frame: calls on an Exchange stream never end it) and the reset waits until the server has
 * answered on that very stream (a DATA frame, trailers or RST_STREAM): the call was applied,
 * and its answer never arrives. With `protocol: "raw"` any client chunk
 * is a request and the first server chunk after it is its answer.
 *
 * Every new client connection opens a new upstream connection to the same address, so the
 * proxy outlives restarts of its upstream: while the upstream is down, clients are closed.
 */
import net from "node:net";
import { listenOnPort } from "#platform/listen-on-port.js";
import { createPrng, type Prng } from "./prng.js";

export const FAULT_KINDS = ["drop", "delay", "lostReply", "lateRequest"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** Probability per eligible chunk, per kind (0..1). */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxyOptions {
  /** Where to forward: a port on 127.0.0.1, or a function read at each new connection. */
  readonly upstreamPort: number | (() => number | undefined);
  /** Port to listen on (default 0: a free one). */
  readonly port?: number;
  /** Seed of the PRNG that decides every fault. */
  readonly seed: number;
  /** How long a `delay` holds server→client bytes: ms, or a [min, max] range (default 3000). */
  readonly delayMs?: number | readonly [number, number];
  /** "http2" to aim `lostReply` at whole requests and answers; "raw" (default) for any bytes. */
  readonly protocol?: "raw" | "http2";
  /** How long a `lateRequest` holds the request: ms, or a [min, max] range (default [200, 800]). */
  readonly lateRequestMs?: number | readonly [number, number];
  /** Longest a `lostReply` waits for the server's answer before it resets anyway (default 2000 ms). */
  readonly lostReplyWaitMs?: number;
  /** Called on every injected fault (for logs). */
  readonly onFault?: (kind: FaultKind, detail: string) => void;
}

export interface FaultProxyStats {
  readonly connections: number;
  readonly open: number;
  /** New connections closed because the upstream could not be reached. */
  readonly upstreamRefused: number;
  readonly bytesToServer: number;
  readonly bytesToClient: number;
  /** `lostReply` faults whose answer never came in time: counted as `drop` instead. */
  readonly lostReplyUnconfirmed: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
}

export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for a gRPC client. */
  readonly url: string;
  /** Switches random faults on with these rates, or off ("off" also disarms `inject`). */
  setFaults(rates: FaultRates | "off"): void;
  readonly rates: Readonly<FaultRates>;
  /** Arms one fault of this kind, injected on the next eligible chunk whatever the rates. */
  inject(kind: FaultKind): void;
  /** Faults injected so far, by kind. */
  readonly counts: Readonly<Record<FaultKind, number>>;
  stats(): FaultProxyStats;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

const H2_PREFACE_LENGTH = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FLAG_END_STREAM = 0x1;

export interface FrameHeader {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly length: number;
}

/**
 * Reads HTTP/2 frame headers out of a byte stream cut into arbitrary chunks, skipping the
 * client connection preface when asked. Payloads are skipped, never buffered.
 */
export class FrameHeaderReader {
  private skip: number;
  private header = Buffer.alloc(9);
  private have = 0;
  /** Set when the bytes do not look like HTTP/2; the reader then stops reporting frames. */
  broken = false;

  constructor(skipPreface: boolean) {
    this.skip = skipPreface ? H2_PREFACE_LENGTH : 0;
  }

  /** The headers of every frame that starts in `chunk`. */
  push(chunk: Buffer): FrameHeader[] {
    const frames: FrameHeader[] = [];
    let i = 0;
    while (i < chunk.length && !this.broken) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(9 - this.have, chunk.length - i);
      chunk.copy(this.header, this.have, i, i + n);
      this.have += n;
      i += n;
      if (this.have < 9) break;
      this.have = 0;
      const length = this.header.readUIntBE(0, 3);
      const frame = { length, type: this.header[3]!, flags: this.header[4]!, streamId: this.header.readUInt32BE(5) & 0x7fffffff };
      if (length > 16 * 1024 * 1024) this.broken = true;
      else frames.push(frame);
      this.skip = length;
    }
    return frames;
  }
}

/** Starts a fault proxy on 127.0.0.1 and resolves once it listens. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random: Prng = createPrng(options.seed);
  const protocol = options.protocol ?? "raw";
  const lostReplyWaitMs = options.lostReplyWaitMs ?? 2_000;
  const upstreamPort = typeof options.upstreamPort === "function" ? options.upstreamPort : () => options.upstreamPort as number;
  const counts: Record<FaultKind, number> = { drop: 0, delay: 0, lostReply: 0, lateRequest: 0 };
  const armed: Record<FaultKind, number> = { drop: 0, delay: 0, lostReply: 0, lateRequest: 0 };
  let rates: FaultRates = {};
  let connections = 0;
  let upstreamRefused = 0;
  let bytesToServer = 0;
  let bytesToClient = 0;
  let lostReplyUnconfirmed = 0;
  const open = new Set<() => void>();

  const msOf = (d: number | readonly [number, number]): number => (typeof d === "number" ? d : random.int(d[0], d[1]));
  const delayOf = (): number => msOf(options.delayMs ?? 3_000);
  /** Whether to inject `kind` now: a one-shot armed by `inject`, else a draw at its rate. */
  const decide = (kind: FaultKind): boolean => {
    if (armed[kind] > 0) {
      armed[kind]--;
      return true;
    }
    return random.chance(rates[kind] ?? 0);
  };
  const record = (kind: FaultKind, detail: string): void => {
    counts[kind]++;
    options.onFault?.(kind, detail);
  };

  const server = net.createServer({ noDelay: true }, (client) => {
    connections++;
    const port = upstreamPort();
    if (port === undefined) {
      upstreamRefused++;
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: "127.0.0.1", port, noDelay: true });
    let closed = false;
    let dying = false;
    let connected = false;
    const pendingToServer: Buffer[] = [];
    // delay: server→client bytes queued until `holdTimer` fires.
    let holding = false;
    let holdTimer: NodeJS.Timeout | undefined;
    const held: Buffer[] = [];
    let endAfterHold = false;
    // lostReply: the server's answer is discarded, then the connection is reset.
    let doomed: { streams: Set<number> | undefined; timer: NodeJS.Timeout } | undefined;
    // lateRequest: the client is gone; the held request reaches the server later.
    let zombie = false;
    const fromClient = protocol === "http2" ? new FrameHeaderReader(true) : undefined;
    const fromServer = protocol === "http2" ? new FrameHeaderReader(false) : undefined;

    const teardown = (reset: boolean): void => {
      if (closed) return;
      closed = true;
      open.delete(destroyAll);
      if (holdTimer) clearTimeout(holdTimer);
      if (doomed) clearTimeout(doomed.timer);
      if (reset && !client.destroyed) client.resetAndDestroy();
      else client.destroy();
      upstream.destroy();
    };
    const destroyAll = (): void => teardown(false);
    open.add(destroyAll);

    const toServer = (chunk: Buffer): void => {
      bytesToServer += chunk.length;
      if (!connected) pendingToServer.push(chunk);
      else if (!upstream.write(chunk)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
    };
    const toClient = (chunk: Buffer): void => {
      bytesToClient += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    };
    const dropMidStream = (chunk: Buffer, forward: (b: Buffer) => void, direction: string): void => {
      const cut = random.int(0, Math.max(0, chunk.length - 1));
      if (cut > 0) forward(chunk.subarray(0, cut));
      record("drop", `${direction} after ${cut} of ${chunk.length} bytes`);
      // Let the prefix reach the socket before both ends go away; nothing more is forwarded.
      dying = true;
      setImmediate(() => teardown(false));
    };

    upstream.once("connect", () => {
      connected = true;
      for (const b of pendingToServer.splice(0)) upstream.write(b);
    });

    client.on("data", (chunk: Buffer) => {
      if (closed || dying || zombie) return;
      const frames = fromClient?.push(chunk);
      if (doomed) return toServer(chunk);
      if (decide("drop")) return dropMidStream(chunk, toServer, "client→server");
      // A request ends in this chunk: raw, any chunk; http2, a DATA or HEADERS frame with END_STREAM,
      // or a DATA frame with a payload (a call on a long-lived Exchange stream never ends its stream).
      const ending =
        frames === undefined || fromClient!.broken
          ? undefined
          : new Set(
              frames
                .filter(
                  (f) =>
                    f.streamId > 0 &&
                    (f.type === FRAME_DATA || f.type === FRAME_HEADERS) &&
                    (f.flags & FLAG_END_STREAM || (f.type === FRAME_DATA && f.length > 0)),
                )
                .map((f) => f.streamId),
            );
      const eligible = ending === undefined || ending.size > 0;
      if (eligible && !holding && decide("lateRequest")) {
        const ms = msOf(options.lateRequestMs ?? [200, 800]);
        zombie = true;
        client.resetAndDestroy();
        const timer = setTimeout(() => {
          if (closed) return;
          open.delete(cancelLate);
          bytesToServer += chunk.length;
          record("lateRequest", `${chunk.length} request bytes delivered ${ms} ms after the client connection was reset`);
          const deliver = (): void => {
            upstream.write(chunk);
            // Whatever the server answers goes nowhere; the upstream closes a little later.
            setTimeout(() => teardown(false), lostReplyWaitMs);
          };
          if (connected) deliver();
          else upstream.once("connect", deliver);
        }, ms);
        const cancelLate = (): void => {
          clearTimeout(timer);
          teardown(false);
        };
        open.add(cancelLate);
        return;
      }
      if (eligible && !holding && decide("lostReply")) {
        const streams = ending;
        doomed = {
          streams,
          timer: setTimeout(() => {
            // No answer in time: for the caller it was a dropped connection.
            lostReplyUnconfirmed++;
            record("drop", "lostReply: no answer came, connection reset");
            teardown(true);
          }, lostReplyWaitMs),
        };
      }
      toServer(chunk);
    });

    upstream.on("data", (chunk: Buffer) => {
      if (closed || dying || zombie) return;
      const frames = fromServer?.push(chunk);
      if (doomed) {
        const answered =
          doomed.streams === undefined ||
          fromServer!.broken ||
          frames!.some(
            (f) =>
              doomed!.streams!.has(f.streamId) &&
              (f.type === FRAME_RST_STREAM || (f.type === FRAME_HEADERS && f.flags & FLAG_END_STREAM) || (f.type === FRAME_DATA && f.length > 0)),
          );
        if (answered) {
          record("lostReply", `discarded ${chunk.length} bytes of the answer, connection reset`);
          teardown(true);
        }
        return; // the answer is discarded
      }
      if (holding) {
        held.push(chunk);
        return;
      }
      if (decide("drop")) return dropMidStream(chunk, toClient, "server→client");
      const eligible = frames === undefined || fromServer!.broken || frames.some((f) => f.streamId > 0);
      if (eligible && decide("delay")) {
        const ms = delayOf();
        record("delay", `server→client held ${ms} ms`);
        holding = true;
        held.push(chunk);
        holdTimer = setTimeout(() => {
          holding = false;
          holdTimer = undefined;
          if (closed) return;
          for (const b of held.splice(0)) toClient(b);
          if (endAfterHold) client.end(); // the upstream is gone; the client closes after the held bytes
        }, ms);
        return;
      }
      toClient(chunk);
    });

    client.on("end", () => {
      if (!closed && !zombie) upstream.end();
    });
    upstream.on("end", () => {
      if (closed) return;
      if (holding) endAfterHold = true;
      else if (!doomed) client.end();
    });
    client.on("error", () => {
      if (!zombie) teardown(false);
    });
    upstream.on("error", () => {
      if (!connected) upstreamRefused++;
      if (!holding) teardown(false);
    });
    client.on("close", () => {
      if (!zombie) teardown(false);
    });
    upstream.on("close", () => {
      // Held bytes are still delivered, then the client is ended; a doomed answer never comes.
      if (holding) endAfterHold = true;
      else teardown(doomed !== undefined && !zombie);
    });
  });

  const port = await listenOnPort(server, options.port ?? 0, "127.0.0.1");

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setFaults(next) {
      if (next === "off") {
        rates = {};
        for (const k of FAULT_KINDS) armed[k] = 0;
      } else {
        for (const k of FAULT_KINDS) {
          const r = next[k] ?? 0;
          if (!(r >= 0 && r <= 1)) throw new RangeError(`fault rate of ${k} must be in [0, 1], got ${r}`);
        }
        rates = { ...next };
      }
    },
    get rates() {
      return { ...rates };
    },
    inject(kind) {
      armed[kind]++;
    },
    counts,
    stats: () => ({
      connections,
      open: open.size,
      upstreamRefused,
      bytesToServer,
      bytesToClient,
      lostReplyUnconfirmed,
      faults: { ...counts },
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const destroy of [...open]) destroy();
        server.close(() => resolve());
      }),
  };
}
