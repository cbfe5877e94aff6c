import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "./grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "./grpc-server.js";
import { PLAINTEXT_GRPC, readGrpcTls, type GrpcTls } from "./grpc-tls.js";
import { createLogger } from "./logger.js";
import { makeTestCertificates, type TestCertificates } from "./test-certificates.js";
import { readIdentity } from "./tls-files.js";

const handlers = serve(CatalogService, {
  getProduct(req) {
    return { product: { productId: req.productId, name: "Notebook", priceCents: 150000n } };
  },
  listProducts() {
    return { products: [], nextPageToken: "" };
  },
  priceOrder(req) {
    return { lines: [], totalCents: BigInt(req.lines.length) };
  },
});

const log = createLogger("test", "silent");
let pki: TestCertificates;
beforeAll(async () => {
  pki = await makeTestCertificates();
});
afterAll(() => pki.remove());

/** One unary call, one call carried by the Exchange stream and one health check, each on its own client. */
async function callAll(url: string, tls: GrpcTls): Promise<void> {
  const unary = createServiceClient(CatalogService, url, { tls, timeoutMs: 10_000 });
  const exchange = createServiceClient(CatalogService, url, { tls, timeoutMs: 10_000, exchange: true });
  const health = createServiceClient(Health, url, { tls, timeoutMs: 10_000 });
  try {
    expect((await unary.getProduct({ productId: "unary" })).product?.productId).toBe("unary");
    expect((await exchange.getProduct({ productId: "exchange" })).product?.productId).toBe("exchange");
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  } finally {
    unary.close();
    exchange.close();
    health.close();
  }
}

/** The call a client makes when it cannot connect: UNAVAILABLE, unary and on the Exchange stream. */
async function expectRefused(url: string, tls: GrpcTls): Promise<void> {
  for (const exchange of [false, true]) {
    const client = createServiceClient(CatalogService, url, { tls, timeoutMs: 10_000, exchange });
    try {
      await expect(client.getProduct({ productId: "x" })).rejects.toMatchObject({ code: Code.Unavailable });
    } finally {
      client.close();
    }
  }
}

describe("readGrpcTls", () => {
  it("is plaintext when nothing is set", () => {
    expect(readGrpcTls({})).toEqual({ identity: undefined, ca: undefined, requireClientCert: false });
  });

  it("reads a certificate, its key and the CA, and mutual TLS", () => {
    const tls = readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey, GRPC_TLS_CA: pki.caCert, GRPC_TLS_CLIENT_AUTH: "require" });
    expect(tls.identity?.chain[0]?.subject).toContain("CN=127.0.0.1");
    expect(tls.ca?.toString()).toContain("BEGIN CERTIFICATE");
    expect(tls.requireClientCert).toBe(true);
  });

  it("names the variable and the path of a file it cannot read", () => {
    const missing = join(pki.dir, "missing.crt");
    expect(() => readGrpcTls({ GRPC_TLS_CERT: missing, GRPC_TLS_KEY: pki.serverKey })).toThrow(
      `GRPC_TLS_CERT=${missing}: cannot read the file (ENOENT)`,
    );
    expect(() => readGrpcTls({ GRPC_TLS_CA: missing })).toThrow(`GRPC_TLS_CA=${missing}: cannot read the file (ENOENT)`);
  });

  it("names a file that is not what its variable says", () => {
    expect(() => readGrpcTls({ GRPC_TLS_CA: pki.serverKey })).toThrow(`GRPC_TLS_CA=${pki.serverKey}: no PEM certificate in the file`);
    expect(() => readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverCert })).toThrow(
      `GRPC_TLS_KEY=${pki.serverCert}: not an unencrypted PEM private key`,
    );
    const garbled = join(pki.dir, "garbled.crt");
    writeFileSync(garbled, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    expect(() => readGrpcTls({ GRPC_TLS_CA: garbled })).toThrow(`GRPC_TLS_CA=${garbled}: certificate 1 does not parse`);
  });

  it("refuses a key that is not the certificate's, naming both", () => {
    expect(() => readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.clientKey })).toThrow(
      `GRPC_TLS_KEY=${pki.clientKey} is not the private key of the certificate in GRPC_TLS_CERT=${pki.serverCert}`,
    );
  });

  it("refuses a certificate that the CA did not sign, naming both", () => {
    expect(() => readGrpcTls({ GRPC_TLS_CERT: pki.otherCert, GRPC_TLS_KEY: pki.otherKey, GRPC_TLS_CA: pki.caCert })).toThrow(
      new RegExp(
        `the certificate in GRPC_TLS_CERT=${pki.otherCert} .*issuer "CN=Another test CA".* is not signed by a certificate authority of GRPC_TLS_CA=${pki.caCert}`,
      ),
    );
  });

  it("accepts a CA bundle that holds the signing CA among others", () => {
    const bundle = join(pki.dir, "bundle.crt");
    copyFileSync(pki.otherCaCert, bundle);
    writeFileSync(bundle, readFileSync(pki.caCert), { flag: "a" });
    expect(readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey, GRPC_TLS_CA: bundle }).identity).toBeDefined();
  });

  it("refuses a certificate that has expired or is not yet valid", () => {
    const env = { GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey };
    expect(() => readGrpcTls(env, new Date(Date.now() + 30 * 86_400_000))).toThrow(`the certificate in GRPC_TLS_CERT=${pki.serverCert} expired on`);
    expect(() => readGrpcTls(env, new Date(Date.now() - 30 * 86_400_000))).toThrow("is not valid before");
  });

  it("refuses half a configuration", () => {
    expect(() => readGrpcTls({ GRPC_TLS_CERT: pki.serverCert })).toThrow("GRPC_TLS_CERT is set but GRPC_TLS_KEY is not");
    expect(() => readGrpcTls({ GRPC_TLS_KEY: pki.serverKey })).toThrow("GRPC_TLS_KEY is set but GRPC_TLS_CERT is not");
    expect(() => readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey, GRPC_TLS_CLIENT_AUTH: "require" })).toThrow(
      "GRPC_TLS_CLIENT_AUTH=require needs",
    );
    expect(() => readGrpcTls({ GRPC_TLS_CLIENT_AUTH: "always" })).toThrow('GRPC_TLS_CLIENT_AUTH="always" is not one of none, require');
  });
});

describe("gRPC over TLS", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    const tls = readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey, GRPC_TLS_CA: pki.caCert });
    server = await startGrpcServer({ services: [handlers], port: 0, log, tls });
  });
  afterAll(() => server.close());

  it("serves unary calls, the Exchange stream and health to a client that trusts the CA", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await callAll(server.url, readGrpcTls({ GRPC_TLS_CA: pki.caCert }));
  });

  it("is refused by a client without the CA, by one trusting another CA, and by a plaintext client", async () => {
    await expectRefused(server.url, PLAINTEXT_GRPC);
    await expectRefused(server.url, readGrpcTls({ GRPC_TLS_CA: pki.otherCaCert }));
    await expectRefused(server.url.replace("https:", "http:"), readGrpcTls({ GRPC_TLS_CA: pki.caCert }));
  });
});

describe("gRPC over mutual TLS", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    const tls = readGrpcTls({ GRPC_TLS_CERT: pki.serverCert, GRPC_TLS_KEY: pki.serverKey, GRPC_TLS_CA: pki.caCert, GRPC_TLS_CLIENT_AUTH: "require" });
    server = await startGrpcServer({ services: [handlers], port: 0, log, tls });
  });
  afterAll(() => server.close());

  it("serves a client that presents a certificate signed by the CA", async () => {
    await callAll(server.url, readGrpcTls({ GRPC_TLS_CERT: pki.clientCert, GRPC_TLS_KEY: pki.clientKey, GRPC_TLS_CA: pki.caCert }));
  });

  it("refuses a client without a certificate", async () => {
    await expectRefused(server.url, readGrpcTls({ GRPC_TLS_CA: pki.caCert }));
  });

  it("refuses a client whose certificate another CA signed", async () => {
    const stranger = {
      identity: readIdentity({ variable: "cert", path: pki.otherCert }, { variable: "key", path: pki.otherKey }),
      ca: readGrpcTls({ GRPC_TLS_CA: pki.caCert }).ca,
      requireClientCert: false,
    };
    await expectRefused(server.url, stranger);
  });
});
