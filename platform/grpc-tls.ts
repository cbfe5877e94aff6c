import * as grpc from "@grpc/grpc-js";
import { ConfigError, oneOf, readEnv, text } from "./config.js";
import { checkIssuedBy, readCertificates, readOptionalIdentity, type TlsIdentity } from "./tls-files.js";

/**
 * Transport security of one process's gRPC server and clients, from its environment. The
 * default (nothing set) is plaintext, as on loopback.
 */
export interface GrpcTls {
  /**
   * This process's certificate and key: its gRPC server serves TLS with them, and its clients
   * present them to servers that require client certificates (mutual TLS).
   */
  readonly identity?: TlsIdentity;
  /** PEM bundle of the certificate authorities that clients verify servers with, and servers verify clients with. */
  readonly ca?: Buffer;
  /** The server refuses a client without a certificate signed by `ca`. */
  readonly requireClientCert: boolean;
}

/** No TLS: plaintext gRPC, the default on loopback. */
export const PLAINTEXT_GRPC: GrpcTls = Object.freeze({ requireClientCert: false });

/**
 * Reads gRPC transport security from the environment:
 * `GRPC_TLS_CERT` and `GRPC_TLS_KEY` (PEM paths: this process's certificate chain and key; its
 * server then serves TLS and its URL is `https://`), `GRPC_TLS_CA` (PEM path: the CA bundle
 * that clients verify servers with, and servers verify clients with) and `GRPC_TLS_CLIENT_AUTH`
 * (`none`, or `require`: mutual TLS). Clients use TLS for `https://` URLs.
 *
 * Every file is read and checked now, so that a process with a bad one stops at start with the
 * variable and the path named, instead of failing every handshake later.
 * @throws ConfigError naming each variable and path at fault: a file that cannot be read or is
 * not PEM, a key that is not the certificate's, an expired certificate, a certificate the CA
 * did not sign, a certificate without its key, or `require` without a CA or a certificate.
 */
export function readGrpcTls(env: Record<string, string | undefined> = process.env, now = new Date()): GrpcTls {
  const values = readEnv(
    {
      GRPC_TLS_CERT: text(""),
      GRPC_TLS_KEY: text(""),
      GRPC_TLS_CA: text(""),
      GRPC_TLS_CLIENT_AUTH: oneOf("none", ["none", "require"]),
    },
    env,
  );
  const certFile = { variable: "GRPC_TLS_CERT", path: values.GRPC_TLS_CERT };
  const identity = readOptionalIdentity(certFile, { variable: "GRPC_TLS_KEY", path: values.GRPC_TLS_KEY }, now);
  const caFile = { variable: "GRPC_TLS_CA", path: values.GRPC_TLS_CA };
  const authorities = values.GRPC_TLS_CA === "" ? undefined : readCertificates(caFile);
  const requireClientCert = values.GRPC_TLS_CLIENT_AUTH === "require";
  if (requireClientCert && (!identity || !authorities)) {
    throw new ConfigError(
      "GRPC_TLS_CLIENT_AUTH=require needs GRPC_TLS_CERT and GRPC_TLS_KEY (the server's own certificate) " +
        "and GRPC_TLS_CA (to verify the clients' certificates)",
    );
  }
  // One CA for the whole system: when it is given, this process's certificate must be one its peers accept.
  if (identity && authorities) {
    checkIssuedBy(identity.chain, certFile, authorities.certificates, caFile);
  }
  return Object.freeze({ identity, ca: authorities?.pem, requireClientCert });
}

/** What a gRPC server binds with: TLS (and client certificates when required) with an identity, else plaintext. */
export function serverCredentials(tls: GrpcTls = PLAINTEXT_GRPC): grpc.ServerCredentials {
  if (!tls.identity) return grpc.ServerCredentials.createInsecure();
  const pair = { private_key: tls.identity.key, cert_chain: tls.identity.cert };
  return grpc.ServerCredentials.createSsl(tls.requireClientCert ? (tls.ca ?? null) : null, [pair], tls.requireClientCert);
}

/** The scheme of a gRPC server's URL: `https` when it serves TLS. */
export function grpcUrlScheme(tls: GrpcTls = PLAINTEXT_GRPC): "http" | "https" {
  return tls.identity ? "https" : "http";
}

/**
 * What a client channel to `url` connects with: TLS for `https://` (verifying the server with
 * `tls.ca`, or the system's roots without one, and presenting `tls.identity` if there is one),
 * plaintext for anything else.
 */
export function channelCredentials(url: string, tls: GrpcTls = PLAINTEXT_GRPC): grpc.ChannelCredentials {
  if (new URL(url).protocol !== "https:") return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.identity?.key ?? null, tls.identity?.cert ?? null);
}
