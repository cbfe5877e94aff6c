import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { readGrpcTls, type GrpcTls } from "#platform/grpc-tls.js";
import { readOptionalIdentity } from "#platform/tls-files.js";
import type { ProcessName } from "./processes.js";

/** How the launcher reaches the processes it started, given the TLS settings it passes on to them. */
export interface LauncherSecurity {
  /** What the launcher's gRPC health checks connect with (the processes' own settings). */
  readonly grpcTls: GrpcTls;
  /** The scheme of a process's URL: `https` for the gRPC servers with `GRPC_TLS_CERT`, and the gateway with `HTTPS_CERT`. */
  schemeOf(name: ProcessName): "http" | "https";
  /**
   * Whether the gateway's `/readyz` answers 200. Over HTTPS the gateway must present exactly
   * the certificate of `HTTPS_CERT`: the launcher knows it, so it pins it instead of asking
   * for a CA (the gateway's certificate may be for a public name, not 127.0.0.1).
   */
  gatewayReady(url: string): Promise<boolean>;
}

/**
 * Reads the TLS variables the processes will read (`GRPC_TLS_*`, `HTTPS_CERT`, `HTTPS_KEY`),
 * so that a bad file stops the launcher at once, naming the variable and the path, before any
 * process is started.
 * @throws ConfigError as `readGrpcTls` and `readOptionalIdentity`.
 */
export function readLauncherSecurity(env: Record<string, string | undefined>): LauncherSecurity {
  const grpcTls = readGrpcTls(env);
  const https = readOptionalIdentity({ variable: "HTTPS_CERT", path: env.HTTPS_CERT ?? "" }, { variable: "HTTPS_KEY", path: env.HTTPS_KEY ?? "" });
  const pinned = https?.chain[0]!.fingerprint256;
  return {
    grpcTls,
    schemeOf: (name) => ((name === "gateway" ? https : grpcTls.identity) ? "https" : "http"),
    async gatewayReady(url) {
      if (pinned === undefined) return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok;
      return new Promise<boolean>((resolve, reject) => {
        // Not verified against a CA (rejectUnauthorized: false), but against the one certificate the gateway was given.
        const req = request(`${url}/readyz`, { rejectUnauthorized: false, timeout: 1_000 }, (res) => {
          const presented = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
          res.resume();
          resolve(presented === pinned && res.statusCode === 200);
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end();
      });
    },
  };
}
