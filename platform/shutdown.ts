import type { Logger } from "./logger.js";

/**
 * Runs `close` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it threw
 * or outlasted `boundMs`. Further signals while it stops are ignored (a terminal's Ctrl-C
 * reaches both `npm start` and its children, and then the parent's SIGTERM follows).
 */
export function onShutdown(log: Logger, close: () => Promise<void>, boundMs = 10_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ boundMs }, "shutdown took too long");
      process.exit(1);
    }, boundMs);
    timer.unref();
    close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
