// Composition root of the gateway.
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { integer, oneOf, readEnv, text } from "#platform/config.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { peerUrls } from "#platform/peer-addresses.js";
import { runProcess } from "#platform/run-service.js";
import { createApp } from "./app.js";
import { listenHttp } from "./http-server.js";

const readConfig = () => {
  const env = readEnv({
    HOST: text("127.0.0.1"),
    PORT: integer(8000, 0, 65535),
    ORCHESTRATOR_URL: peerUrls("http://127.0.0.1:5000"),
    SAGA_WAIT_MS: integer(10_000, 0, 60_000),
    MAX_BODY_BYTES: integer(64 * 1024, 1, 16 * 1024 * 1024),
    REQUEST_TIMEOUT_MS: integer(30_000, 100, 600_000),
    LOG_LEVEL: oneOf("info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  });
  return { ...env, logLevel: env.LOG_LEVEL };
};

// The same life as every service (platform/run-service.ts), over HTTP instead of gRPC.
await runProcess("gateway", readConfig, async ({ config: env, log }) => {
  const orchestrator = createServiceClient(OrchestratorService, env.ORCHESTRATOR_URL, { exchange: true });
  const health = createServiceClient(Health, env.ORCHESTRATOR_URL);
  const app = createApp(orchestrator, health, { waitMs: env.SAGA_WAIT_MS, maxBodyBytes: env.MAX_BODY_BYTES, log });
  const http = await listenHttp(app, { host: env.HOST, port: env.PORT, requestTimeoutMs: env.REQUEST_TIMEOUT_MS });
  return {
    url: http.url,
    async close() {
      await http.close();
      orchestrator.close();
      health.close();
    },
  };
});
