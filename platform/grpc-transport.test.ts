import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { startGrpcServer, serve, type GrpcServer } from "./grpc-server.js";
import { createServiceClient } from "./grpc-client.js";
import { createLogger } from "./logger.js";

const run = promisify(execFile);

// The transport adapter under test: a small catalog handler set, served by grpc-js.
const handlers = serve(CatalogService, {
  getProduct(req) {
    if (req.productId === "slow") return new Promise(() => {});
    if (req.productId !== "notebook") throw new ConnectError(`product ${req.productId} not found`, Code.NotFound);
    return { product: { productId: "notebook", name: "Notebook", priceCents: 150000n } };
  },
  listProducts() {
    throw new Error("a bug");
  },
  priceOrder(req) {
    return { lines: [], totalCents: BigInt(req.lines.length) };
  },
});

describe("grpc-js transport for typed handlers", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    server = await startGrpcServer({ services: [handlers], port: 0, log: createLogger("test", "silent") });
  });
  afterAll(() => server.close());

  it("binds port 0 and serves typed calls", async () => {
    expect(server.port).toBeGreaterThan(0);
    const client = createServiceClient(CatalogService, server.url);
    const res = await client.getProduct({ productId: "notebook" });
    expect(res.product?.priceCents).toBe(150000n);
    client.close();
  });

  it("carries ConnectError codes and messages across the wire", async () => {
    const client = createServiceClient(CatalogService, server.url);
    await expect(client.getProduct({ productId: "nope" })).rejects.toMatchObject({ code: Code.NotFound, rawMessage: "product nope not found" });
    await expect(client.listProducts({})).rejects.toMatchObject({ code: Code.Internal, rawMessage: "internal error" });
    client.close();
  });

  it("puts a deadline on every call", async () => {
    const client = createServiceClient(CatalogService, server.url, { timeoutMs: 50 });
    await expect(client.getProduct({ productId: "slow" })).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    client.close();
  });

  it("answers UNAVAILABLE when nothing listens", async () => {
    const client = createServiceClient(CatalogService, "http://127.0.0.1:1", { timeoutMs: 2000 });
    await expect(client.getProduct({ productId: "notebook" })).rejects.toMatchObject({ code: Code.Unavailable });
    client.close();
  });

  it("serves grpc.health.v1.Health for the server and each service", async () => {
    const health = createServiceClient(Health, server.url);
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "saga.catalog.v1.CatalogService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    health.close();
  });

  it("serves reflection v1 and v1alpha: buf curl lists and calls by reflection alone", async () => {
    const buf = new URL("../node_modules/.bin/buf", import.meta.url).pathname;
    const base = ["curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    for (const reflect of ["grpc-v1", "grpc-v1alpha"]) {
      const { stdout } = await run(buf, [...base, "--reflect-protocol", reflect, "--list-services", server.url]);
      expect(stdout.split("\n")).toEqual(expect.arrayContaining(["saga.catalog.v1.CatalogService", "grpc.health.v1.Health"]));
    }
    const { stdout } = await run(buf, [...base, "-d", '{"productId":"notebook"}', `${server.url}/saga.catalog.v1.CatalogService/GetProduct`]);
    expect(JSON.parse(stdout)).toEqual({ product: { productId: "notebook", name: "Notebook", priceCents: "150000" } });
  });
});

describe("waitForReady", () => {
  it("fails at once without it, and waits for a server that starts within the deadline with it", async () => {
    const probe = await startGrpcServer({ services: [handlers], port: 0, log: createLogger("test", "silent") });
    const url = probe.url;
    await probe.close();
    const impatient = createServiceClient(CatalogService, url, { timeoutMs: 5_000 });
    await expect(impatient.getProduct({ productId: "notebook" })).rejects.toMatchObject({ code: Code.Unavailable });
    impatient.close();

    const patient = createServiceClient(CatalogService, url, { timeoutMs: 5_000, waitForReady: true });
    const call = patient.getProduct({ productId: "notebook" });
    // The server comes up a little later, as a restarted service does.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const later = await startGrpcServer({ services: [handlers], port: probe.port, log: createLogger("test", "silent") });
    try {
      expect((await call).product?.name).toBe("Notebook");
    } finally {
      patient.close();
      await later.close();
    }
  });
});
