import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const OPENSSL = "/usr/bin/openssl";

/** Paths of the PEM files {@link makeTestCertificates} wrote. */
export interface TestCertificates {
  readonly dir: string;
  /** The test CA. */
  readonly caCert: string;
  /** A server certificate for 127.0.0.1 and localhost (SAN), signed by the CA, also good for client auth. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Another CA, and a certificate for 127.0.0.1 that it signed: right names, wrong authority. */
  readonly otherCaCert: string;
  readonly otherCert: string;
  readonly otherKey: string;
  /** Removes the directory. */
  remove(): void;
}

/**
 * Makes a throwaway PKI for tests with the openssl CLI, in a new temp directory: a CA, a server
 * certificate (SAN IP:127.0.0.1 and DNS:localhost, serverAuth and clientAuth), a client
 * certificate, and a certificate of another CA. P-256 keys, valid for two days. The same
 * commands as docs/operations.md ("TLS").
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  if (!existsSync(OPENSSL))
    throw new Error(`the TLS tests make their certificates with the openssl CLI, not found at ${OPENSSL} (Debian: apt-get install openssl)`);
  const dir = mkdtempSync(join(tmpdir(), "tp-saga-tls-"));
  const path = (name: string): string => join(dir, name);
  writeFileSync(
    path("ca.cnf"),
    [
      "[req]",
      "distinguished_name = dn",
      "x509_extensions = v3_ca",
      "prompt = no",
      "[dn]",
      "CN = TP-SAGA test CA",
      "[v3_ca]",
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  const leafExtensions = (file: string, usage: string, altNames?: string): void =>
    writeFileSync(
      path(file),
      [
        "basicConstraints = CA:FALSE",
        "keyUsage = critical,digitalSignature",
        `extendedKeyUsage = ${usage}`,
        ...(altNames ? [`subjectAltName = ${altNames}`] : []),
        "authorityKeyIdentifier = keyid",
        "",
      ].join("\n"),
    );
  leafExtensions("server.ext", "serverAuth,clientAuth", "IP:127.0.0.1,DNS:localhost");
  leafExtensions("client.ext", "clientAuth");

  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const makeCa = async (name: string, subject: string): Promise<void> => {
    await run(OPENSSL, [
      "req",
      "-x509",
      ...newKey,
      "-config",
      path("ca.cnf"),
      "-subj",
      subject,
      "-days",
      "2",
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.crt`),
    ]);
  };
  const makeLeaf = async (name: string, subject: string, ca: string, extensions: string, serial: string): Promise<void> => {
    await run(OPENSSL, ["req", ...newKey, "-subj", subject, "-keyout", path(`${name}.key`), "-out", path(`${name}.csr`)]);
    await run(OPENSSL, [
      "x509",
      "-req",
      "-in",
      path(`${name}.csr`),
      "-CA",
      path(`${ca}.crt`),
      "-CAkey",
      path(`${ca}.key`),
      "-set_serial",
      serial,
      "-days",
      "2",
      "-extfile",
      path(extensions),
      "-out",
      path(`${name}.crt`),
    ]);
  };
  await makeCa("ca", "/CN=TP-SAGA test CA");
  await makeCa("other-ca", "/CN=Another test CA");
  await makeLeaf("server", "/CN=127.0.0.1", "ca", "server.ext", "1001");
  await makeLeaf("client", "/CN=test-client", "ca", "client.ext", "1002");
  await makeLeaf("other", "/CN=127.0.0.1", "other-ca", "server.ext", "2001");
  return {
    dir,
    caCert: path("ca.crt"),
    serverCert: path("server.crt"),
    serverKey: path("server.key"),
    clientCert: path("client.crt"),
    clientKey: path("client.key"),
    otherCaCert: path("other-ca.crt"),
    otherCert: path("other.crt"),
    otherKey: path("other.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
