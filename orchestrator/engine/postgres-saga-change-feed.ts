/**
 * The change feed of a PostgreSQL saga log (LISTEN/NOTIFY): every batch a store commits is
 * announced on one channel (the `notified` part of its statements, sent on commit), and each
 * replica listens on a connection of its own, skipping its own announcements. A notification
 * carries saga ids and sequence ranges, not the events: a replica reads back only the sagas
 * someone there is listening to. A lost connection is opened again (with backoff, logged);
 * what was announced meanwhile is missed, and the waits that missed it read the log at their
 * timeout.
 */
import pg from "pg";
import type { PostgresPoolOptions } from "../../platform/postgres.js";
import type { SagaChange, SagaChangeFeed } from "./saga-change-feed.js";

/** The channel on which every committed batch of the saga log is announced. */
export const SAGA_LOG_CHANNEL = "saga_log";

/** A feed on its own connection; `close()` ends it. */
export class PostgresSagaChangeFeed implements SagaChangeFeed {
  readonly #listeners = new Set<(changes: readonly SagaChange[]) => void>();
  #client: pg.Client | undefined;
  #closed = false;

  private constructor(
    private readonly options: Pick<PostgresPoolOptions, "connectionString">,
    private readonly writerTag: string,
    private readonly onLost: ((error: Error) => void) | undefined,
  ) {}

  /**
   * Connects and listens.
   * @throws the connection's error when the server cannot be reached now.
   */
  static async open(
    options: Pick<PostgresPoolOptions, "connectionString">,
    writerTag: string,
    onLost?: (error: Error) => void,
  ): Promise<PostgresSagaChangeFeed> {
    const feed = new PostgresSagaChangeFeed(options, writerTag, onLost);
    await feed.#connect();
    return feed;
  }

  onChanges(listener: (changes: readonly SagaChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: "tp-saga-orchestrator-feed",
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 5_000,
    });
    let lost = false;
    const onLost = (error: Error): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      if (!this.#closed) void this.#reconnect(error);
    };
    client.on("notification", (message) => this.#tell(message.payload));
    client.on("error", onLost);
    try {
      await client.connect();
      await client.query(`LISTEN ${SAGA_LOG_CHANNEL}`);
    } catch (error) {
      lost = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on("end", () => onLost(new Error("the change feed's connection ended")));
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
  }

  async #reconnect(cause: Error): Promise<void> {
    this.onLost?.(cause);
    for (let delayMs = 250; !this.#closed; delayMs = Math.min(delayMs * 2, 5_000)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      if (this.#closed) return;
      try {
        await this.#connect();
        return;
      } catch {
        // still away: try again
      }
    }
  }

  #tell(payload: string | undefined): void {
    if (payload === undefined || this.#listeners.size === 0) return;
    let parsed: { w?: unknown; c?: unknown };
    try {
      parsed = JSON.parse(payload) as { w?: unknown; c?: unknown };
    } catch {
      return; // not ours
    }
    if (parsed.w === this.writerTag || !Array.isArray(parsed.c)) return;
    const changes: SagaChange[] = [];
    for (const entry of parsed.c as unknown[]) {
      if (!Array.isArray(entry)) continue;
      const [sagaId, from, to] = entry as unknown[];
      if (typeof sagaId === "string" && typeof from === "number" && typeof to === "number") changes.push({ sagaId, from, to });
    }
    if (changes.length === 0) return;
    for (const listener of this.#listeners) listener(changes);
  }
}
