import { createServer, type Server } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabaseOnServer, createTestDatabase, testPostgresAdminUrl } from "./postgres-test-database.js";

const exists = async (name: string) => {
  const client = new pg.Client({ connectionString: testPostgresAdminUrl() });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
  } finally {
    await client.end();
  }
};

// A port that accepts connections and closes them at once: a server that does not speak PostgreSQL.
let closer: Server;
let closerPort = 0;
beforeAll(async () => {
  closer = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => closer.listen(0, "127.0.0.1", resolve));
  closerPort = (closer.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => closer.close(() => resolve())));

describe("throwaway databases", () => {
  it("creates an empty database that answers on its URL, and drops it (twice is harmless)", async () => {
    const database = await createTestDatabase("throwaway_test");
    try {
      expect(database.name).toMatch(/^throwaway_test_[0-9a-f]{12}$/);
      expect(await exists(database.name)).toBe(true);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      expect((await client.query("SELECT current_database() AS name")).rows[0].name).toBe(database.name);
      await client.end();
    } finally {
      await database.drop();
    }
    expect(await exists(database.name)).toBe(false);
    await database.drop();
  });

  it("refuses a name that is not a plain identifier, creating nothing", async () => {
    await expect(createDatabaseOnServer(testPostgresAdminUrl(), "Bad-Name", (reason) => reason)).rejects.toThrow(
      /not a plain database name: Bad-Name/,
    );
    expect(await exists("Bad-Name")).toBe(false);
  });

  it("says what the caller says when the server does not answer, with the connection's error as cause", async () => {
    const attempt = createDatabaseOnServer(
      `postgresql://postgres@127.0.0.1:${closerPort}/postgres`,
      "never_made",
      (reason) => `the caller needs it: ${reason}`,
    );
    await expect(attempt).rejects.toThrow(/^the caller needs it: /);
    await expect(attempt).rejects.toHaveProperty("cause");
  });
});
