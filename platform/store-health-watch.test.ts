import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { watchStoreHealth } from "./store-health-watch.js";

describe("gRPC health follows the saga log", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    const unused = () => Promise.reject(new Error("not called"));
    server = await startGrpcServer({
      services: [serve(OrchestratorService, new Proxy({}, { get: () => unused }) as never)],
      port: 0,
      log: createLogger("test", "silent"),
    });
  });
  afterAll(() => server.close());

  it("answers NOT_SERVING while the store does not answer, and SERVING once it does again", async () => {
    let answers = true;
    const watch = watchStoreHealth({ ping: () => Promise.resolve(answers) }, 20, server, createLogger("test", "silent"));
    const health = createServiceClient(Health, server.url);
    const statusOf = async (service: string) => (await health.check({ service })).status;
    const until = async (want: HealthCheckResponse_ServingStatus): Promise<void> => {
      for (let i = 0; i < 500 && (await statusOf("")) !== want; i++) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      expect(await statusOf("")).toBe(HealthCheckResponse_ServingStatus.SERVING);
      answers = false;
      await until(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect(await statusOf("")).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect(await statusOf(OrchestratorService.typeName)).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      answers = true;
      await until(HealthCheckResponse_ServingStatus.SERVING);
      expect(await statusOf("")).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(await statusOf(OrchestratorService.typeName)).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      watch.stop();
      health.close();
    }
  });
});
