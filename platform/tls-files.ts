import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "./config.js";

/** A PEM file, with the variable whose value named it, so that every error says which variable and which path. */
export interface PemFile {
  readonly variable: string;
  readonly path: string;
}

/** A certificate chain (leaf first) and its private key, as PEM, checked to belong together. */
export interface TlsIdentity {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The certificates of `cert`, leaf first. */
  readonly chain: readonly X509Certificate[];
}

const CERTIFICATE_PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function where(file: PemFile): string {
  return `${file.variable}=${file.path}`;
}

function readBytes(file: PemFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    throw new ConfigError(`${where(file)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * Reads a PEM file of one or more certificates (a chain or a CA bundle), each parsed.
 * @throws ConfigError naming the variable and the path when the file cannot be read, holds no
 * PEM certificate, or holds one that does not parse.
 */
export function readCertificates(file: PemFile): { readonly pem: Buffer; readonly certificates: readonly X509Certificate[] } {
  const pem = readBytes(file);
  const blocks = pem.toString("latin1").match(CERTIFICATE_PEM) ?? [];
  if (blocks.length === 0) throw new ConfigError(`${where(file)}: no PEM certificate in the file (expected -----BEGIN CERTIFICATE-----)`);
  const certificates = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(`${where(file)}: certificate ${index + 1} does not parse (${(err as Error).message})`);
    }
  });
  return { pem, certificates };
}

/**
 * Reads a PEM private key (PKCS#8, PKCS#1 or SEC1), unencrypted.
 * @throws ConfigError naming the variable and the path when it cannot be read or is not such a key.
 */
export function readPrivateKey(file: PemFile): { readonly pem: Buffer; readonly key: KeyObject } {
  const pem = readBytes(file);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch (err) {
    throw new ConfigError(`${where(file)}: not an unencrypted PEM private key (${(err as Error).message})`);
  }
}

/**
 * Reads a certificate chain and its key and checks what a TLS handshake would otherwise fail on
 * with a message naming neither: the key is the leaf certificate's, and the leaf is valid now.
 * @throws ConfigError naming the variables and paths at fault.
 */
export function readIdentity(certFile: PemFile, keyFile: PemFile, now = new Date()): TlsIdentity {
  const { pem: cert, certificates: chain } = readCertificates(certFile);
  const { pem: key, key: privateKey } = readPrivateKey(keyFile);
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError(`${where(keyFile)} is not the private key of the certificate in ${where(certFile)}`);
  }
  checkValidNow(leaf, certFile, now);
  return { cert, key, chain };
}

/**
 * Reads an optional certificate and key: both paths empty is no identity (undefined); one
 * without the other is an error naming both variables.
 * @throws ConfigError as {@link readIdentity}, or when only one of the two is given.
 */
export function readOptionalIdentity(certFile: PemFile, keyFile: PemFile, now = new Date()): TlsIdentity | undefined {
  if (certFile.path === "" && keyFile.path === "") return undefined;
  if (certFile.path === "" || keyFile.path === "") {
    const [given, missing] = certFile.path === "" ? [keyFile.variable, certFile.variable] : [certFile.variable, keyFile.variable];
    throw new ConfigError(`${given} is set but ${missing} is not: a certificate needs its private key, and the key its certificate`);
  }
  return readIdentity(certFile, keyFile, now);
}

/**
 * Checks that `chain` (leaf first, as a peer would send it) leads to one of `authorities`, each
 * link signed by the next, so that a peer trusting those authorities accepts it.
 * @throws ConfigError naming both files when it does not.
 */
export function checkIssuedBy(chain: readonly X509Certificate[], certFile: PemFile, authorities: readonly X509Certificate[], caFile: PemFile): void {
  const signedBy = (subject: X509Certificate, issuer: X509Certificate): boolean => subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  let current = chain[0]!;
  for (let link = 0; link < chain.length; link++) {
    if (authorities.some((authority) => signedBy(current, authority))) return;
    const next = chain.find((candidate) => candidate !== current && signedBy(current, candidate));
    if (!next) break;
    current = next;
  }
  throw new ConfigError(
    `the certificate in ${where(certFile)} (subject ${oneLine(chain[0]!.subject)}, issuer ${oneLine(chain[0]!.issuer)}) ` +
      `is not signed by a certificate authority of ${where(caFile)}: peers that trust that CA would refuse it`,
  );
}

function checkValidNow(certificate: X509Certificate, file: PemFile, now: Date): void {
  if (now < new Date(certificate.validFrom)) throw new ConfigError(`the certificate in ${where(file)} is not valid before ${certificate.validFrom}`);
  if (now > new Date(certificate.validTo)) throw new ConfigError(`the certificate in ${where(file)} expired on ${certificate.validTo}`);
}

function oneLine(name: string): string {
  return JSON.stringify(name.replace(/\n/g, ", "));
}
