import type { SqliteDatabase } from "./sqlite.js";
import { createWriteBatcher, type WriteBatcher } from "./write-batcher.js";

/**
 * A service database's schema and how to bring an older file up to it. The version lives in
 * `PRAGMA user_version`. A file with tables but version 0 was made before versions were
 * recorded, and counts as version 1.
 */
export interface StoreSchema {
  /** Names the service in messages, for example "payments". */
  readonly service: string;
  /** Creates every table of the current version in an empty database. */
  readonly create: string;
  /**
   * `migrations[i]` takes a database from version i + 1 to i + 2; the current version is
   * `migrations.length + 1`. Each runs in the same transaction as the version change.
   */
  readonly migrations: readonly string[];
}

/** The database cannot be used by this build: a version from the future, or a failed migration. Names the file. */
export class StoreVersionError extends Error {
  override name = "StoreVersionError";
}

/** The version a database is at after {@link openSchema}. */
export function currentVersion(schema: StoreSchema): number {
  return schema.migrations.length + 1;
}

/**
 * Creates the schema in an empty database, or migrates an older one, in one transaction.
 * @throws StoreVersionError naming the file when it is newer than this build, or a migration
 *   fails (nothing is changed then).
 */
export function openSchema(db: SqliteDatabase, schema: StoreSchema): void {
  const latest = currentVersion(schema);
  const file = db.memory ? ":memory:" : db.name;
  db.transaction(() => {
    const hasTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1").get() !== undefined;
    const recorded = db.pragma("user_version", { simple: true }) as number;
    if (!hasTables && recorded === 0) {
      db.exec(schema.create);
      db.pragma(`user_version = ${latest}`);
      return;
    }
    const version = recorded === 0 ? 1 : recorded;
    if (version > latest) {
      throw new StoreVersionError(
        `${schema.service} database ${file} is at schema version ${version}, newer than this build knows (${latest}); run a newer build or move the file away`,
      );
    }
    for (let v = version; v < latest; v++) {
      try {
        db.exec(schema.migrations[v - 1]!);
      } catch (err) {
        throw new StoreVersionError(
          `${schema.service} database ${file}: migration from schema version ${v} to ${v + 1} failed, nothing was changed: ${(err as Error).message}`,
        );
      }
    }
    db.pragma(`user_version = ${latest}`);
  })();
}

/**
 * What every mutating service's SQLite store shares: the schema opened or migrated at start,
 * writes through one group-commit batcher (durable before they resolve), the first-start
 * seed, and an orderly close. A service's store extends it with its own tables and statements.
 */
export abstract class SqliteServiceStore {
  constructor(
    protected readonly db: SqliteDatabase,
    schema: StoreSchema,
    private readonly batcher: WriteBatcher = createWriteBatcher(db),
  ) {
    openSchema(db, schema);
  }

  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T> {
    return this.batcher.run(work);
  }

  /**
   * Runs synchronous keyed reads outside a write. On SQLite they answer at once; the promise is
   * the contract shared with the PostgreSQL stores, whose reads are asynchronous.
   */
  read<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /**
   * Inserts `rows` with `insert` when `table` is empty (first start), in one transaction.
   * Returns whether it did.
   */
  protected seedTable<T>(table: string, rows: readonly T[], insert: (row: T) => void): boolean {
    return this.db.transaction(() => {
      if (this.db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined) return false;
      for (const row of rows) insert(row);
      return true;
    })();
  }

  /** Commits what is queued, then closes the database. */
  close(): void {
    this.batcher.close();
    this.db.close();
  }
}
