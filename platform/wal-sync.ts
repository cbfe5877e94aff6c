import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Power-loss safety for a SQLite database in WAL mode, without blocking the event loop.
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside every commit, on the calling thread:
 * better-sqlite3 is synchronous, so the whole process waits for the disk, once per group
 * commit. Instead the connection runs with `synchronous=NORMAL` (commits write the WAL
 * without syncing it) and this class fdatasyncs the WAL file on libuv's thread pool. A caller
 * is told "done" only when a sync that STARTED AFTER its commit has finished, so what it is
 * acknowledged is on disk exactly as with FULL; meanwhile the event loop serves other calls,
 * and every commit made while one sync runs shares the next one.
 *
 * Why this is sound (https://sqlite.org/pragma.html#pragma_synchronous, WAL mode):
 * - a commit appends its frames to the `-wal` file; fdatasync on any descriptor of that file
 *   flushes all of its written pages, so it covers every commit made before it started;
 * - with NORMAL, SQLite itself syncs the WAL before each checkpoint, the database file after
 *   it, and the WAL header when the file starts to be reused, so those paths stay safe;
 * - the `-wal` file keeps its inode while a connection is open (it is reused or truncated,
 *   never replaced), and its directory entry is synced once, when it is first opened here.
 *
 * A failed fdatasync is fatal, as in PostgreSQL: after one, the kernel may have dropped the
 * dirty pages, and a later sync can report success without them. The process stops (an
 * uncaught error) and restarts from what is really on disk.
 */
export class WalSync {
  readonly #walPath: string;
  #fd: number | undefined;
  /** Committed and waiting for a sync that has not started yet. */
  #waiting: Array<() => void> = [];
  #syncing = false;
  #closed = false;

  constructor(databasePath: string) {
    this.#walPath = `${resolve(databasePath)}-wal`;
  }

  /** Calls `done` once everything committed before this call is on disk. */
  afterCommit(done: () => void): void {
    this.#waiting.push(done);
    if (!this.#syncing) this.#start();
  }

  /** Syncs now, on this thread, and calls every waiting `done` (shutdown). */
  syncNow(): void {
    if (this.#fd === undefined && !existsSync(this.#walPath)) return; // nothing was ever committed
    fdatasyncSync(this.#open());
    this.#release(this.#waiting);
    this.#waiting = [];
  }

  /** Closes the WAL's descriptor once no sync uses it. Call {@link syncNow} first. */
  close(): void {
    this.#closed = true;
    if (!this.#syncing) this.#closeFd();
  }

  #start(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    this.#syncing = true;
    fdatasync(this.#open(), (err) => {
      this.#syncing = false;
      if (err) throw new Error(`fdatasync of ${this.#walPath} failed, so commits since the last sync may not be on disk: ${err.message}`);
      this.#release(batch);
      if (this.#closed) this.#closeFd();
      else if (this.#waiting.length > 0) this.#start();
    });
  }

  #release(batch: ReadonlyArray<() => void>): void {
    for (const done of batch) done();
  }

  #open(): number {
    if (this.#fd === undefined) {
      // The WAL exists once a transaction has committed; make its directory entry durable too.
      this.#fd = openSync(this.#walPath, "r+");
      const dir = openSync(dirname(this.#walPath), "r");
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.#fd;
  }

  #closeFd(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
