/**
 * The default id of an orchestrator replica: host, process id and a random part, so two
 * replicas never share one, not even a restarted process that got its predecessor's pid.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/** `<host>-<pid>-<8 hex digits>`, e.g. `web-3-41207-9f3a6c1e`. */
export function defaultReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
}
