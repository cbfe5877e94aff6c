import type { ConnectError } from "@connectrpc/connect";
import { domainErrorToConnect } from "./domain-error-to-connect.js";

/**
 * Wraps every method of a unary handler object so that whatever it throws goes through one
 * mapper: by default {@link domainErrorToConnect}, shared by every service. The wrapped object
 * is what both the grpc-js server and Connect's in-memory router mount, so both answer with
 * the same codes.
 */
export function mapHandlerErrors<T extends object>(impl: T, toConnectError: (err: unknown) => ConnectError = domainErrorToConnect): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(impl)) {
    if (typeof method !== "function") continue;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => unknown).apply(impl, args);
      } catch (err) {
        throw toConnectError(err);
      }
    };
  }
  return wrapped as T;
}
