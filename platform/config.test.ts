import { describe, expect, it } from "vitest";
import { ConfigError, postgresUrl, readEnv } from "./config.js";

describe("postgresUrl", () => {
  it("is empty when absent and keeps a good URL as given", () => {
    expect(readEnv({ DATABASE_URL: postgresUrl() }, {}).DATABASE_URL).toBe("");
    const url = "postgresql://saga:pw@127.0.0.1:5432/saga";
    expect(readEnv({ DATABASE_URL: postgresUrl() }, { DATABASE_URL: url }).DATABASE_URL).toBe(url);
    expect(readEnv({ DATABASE_URL: postgresUrl() }, { DATABASE_URL: "postgres:///saga?host=/run/postgresql" }).DATABASE_URL).toContain("/saga");
  });

  it("names a bad value without showing it (it may hold a password)", () => {
    for (const bad of ["mysql://u:hunter2@h/db", "postgresql://u:hunter2@h", "hunter2", "postgresql://u:hunter2@/db"]) {
      let error: unknown;
      try {
        readEnv({ DATABASE_URL: postgresUrl() }, { DATABASE_URL: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain("DATABASE_URL is not a PostgreSQL URL");
      expect((error as Error).message).not.toContain("hunter2");
    }
  });
});
