import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresPool, PostgresConnectError, postgresTarget } from "./postgres.js";
import { createTestDatabase, type TestDatabase } from "./postgres-test-database.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase("platform_postgres_test");
});
afterAll(async () => {
  await database?.drop();
});

/** A port on 127.0.0.1 where nothing listens (it did a moment ago). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("openPostgresPool", () => {
  it("maps DURABILITY to synchronous_commit on every pooled connection", async () => {
    for (const [durability, expected] of [
      ["process", "off"],
      ["power", "on"],
    ] as const) {
      const pool = await openPostgresPool({ connectionString: database.url, durability, maxConnections: 2 });
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      for (const c of clients) expect((await c.query("SHOW synchronous_commit")).rows[0].synchronous_commit).toBe(expected);
      for (const c of clients) c.release();
      await pool.end();
    }
  });

  it("gives up on an unreachable server after its attempts, naming host, port, database and user but not the password", async () => {
    const port = await freePort();
    const retries: number[] = [];
    const url = `postgresql://saga_owner:s3cret-Pa55@127.0.0.1:${port}/orders_db`;
    const error = await openPostgresPool({
      connectionString: url,
      connectAttempts: 3,
      retryDelayMs: 10,
      onRetry: (f) => retries.push(f.attempt),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresConnectError);
    const message = (error as Error).message;
    expect(message).toContain("host 127.0.0.1");
    expect(message).toContain(`port ${port}`);
    expect(message).toContain('database "orders_db"');
    expect(message).toContain('user "saga_owner"');
    expect(message).toContain("after 3 attempts");
    expect(message).toContain("ECONNREFUSED");
    expect(message).not.toContain("s3cret-Pa55");
    expect((error as PostgresConnectError).attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it("keeps retrying while the server is not up, and connects once it is", async () => {
    const port = await freePort();
    const target = new URL(database.url);
    const server = { host: target.hostname, port: Number(target.port || 5432) };
    // The "server" comes up after the first failed attempt: a TCP relay to the real one.
    const relay = net.createServer((inbound) => {
      const outbound = net.connect(server.port, server.host);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on("error", () => outbound.destroy());
      outbound.on("error", () => inbound.destroy());
    });
    const retries: number[] = [];
    target.port = String(port);
    try {
      const pool = await openPostgresPool({
        connectionString: target.toString(),
        connectAttempts: 20,
        retryDelayMs: 20,
        onRetry: (f) => {
          retries.push(f.attempt);
          if (f.attempt === 1) relay.listen(port, "127.0.0.1");
        },
      });
      expect((await pool.query("SELECT 41 + 1 AS answer")).rows[0].answer).toBe(42);
      await pool.end();
    } finally {
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
    expect(retries.length).toBeGreaterThanOrEqual(1);
  });

  it("fails at once, naming the database, when the database does not exist", async () => {
    const url = new URL(database.url);
    url.pathname = "/no_such_database_here";
    const retries: number[] = [];
    const error = await openPostgresPool({
      connectionString: url.toString(),
      connectAttempts: 5,
      retryDelayMs: 10,
      onRetry: (f) => retries.push(f.attempt),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresConnectError);
    expect((error as Error).message).toContain('database "no_such_database_here"');
    expect((error as Error).message).toContain("does not exist");
    expect(retries).toEqual([]);
  });

  it("reads the target as node-postgres does", () => {
    expect(postgresTarget("postgresql://u:p@db.internal:6543/sagas")).toEqual({ host: "db.internal", port: 6543, database: "sagas", user: "u" });
  });
});
