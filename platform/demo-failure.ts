import { Code, ConnectError } from "@connectrpc/connect";
import type { DemoMode } from "./demo-mode.js";

/**
 * Where a handler lets demo mode fail its action, as the seed's services did: call it after
 * input validation and before the action (never before a confirmation, a compensation or a
 * read: a saga relies on those to succeed). Waits the configured latency; nothing has changed
 * when it throws.
 * @throws ConnectError FAILED_PRECONDITION "fallo simulado (modo demo)" when demo mode says so.
 */
export async function failIfDemoSaysSo(demo: DemoMode): Promise<void> {
  if (await demo.next()) throw new ConnectError("fallo simulado (modo demo)", Code.FailedPrecondition);
}
