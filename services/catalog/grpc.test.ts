import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { catalogHandlers } from "./handlers.js";
import { SqliteProductStore } from "./product-store.js";

// The contract tests' handler object on the real grpc-js server (port 0).
let server: GrpcServer;
let store: SqliteProductStore;
let client: ServiceClient<typeof CatalogService>;

beforeAll(async () => {
  store = new SqliteProductStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_PRODUCTS);
  const handlers = catalogHandlers(new Catalog(store), DEMO_OFF);
  server = await startGrpcServer({ services: [serve(CatalogService, handlers)], host: "127.0.0.1", port: 0, log: createLogger("test", "silent") });
  client = createServiceClient(CatalogService, server.url, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  store?.close();
});

const codeOf = async (call: Promise<unknown>) => (await failureOf(call)).code;

describe("CatalogService over grpc-js", () => {
  it("prices an order and answers NOT_FOUND / INVALID_ARGUMENT", async () => {
    const res = await client.priceOrder({ lines: [{ productId: "notebook", quantity: 2 }] });
    expect(res.totalCents).toBe(300_000n);
    expect((await client.getProduct({ productId: "keyboard" })).product?.name).toBe("Teclado");
    expect(await codeOf(client.priceOrder({ lines: [{ productId: "tablet", quantity: 1 }] }))).toBe(Code.NotFound);
    expect(await codeOf(client.priceOrder({ lines: [] }))).toBe(Code.InvalidArgument);
  });
});
