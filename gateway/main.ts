import type { Server } from "node:http";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { integer, oneOf, readEnv, text } from "#platform/config.js";
import { createLogger, logListening } from "#platform/logger.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { onShutdown } from "#platform/shutdown.js";
import { createApp } from "./app.js";

const env = readEnv({
  HOST: text("127.0.0.1"),
  PORT: integer(8000, 0, 65535),
  ORCHESTRATOR_URL: text("http://127.0.0.1:5000"),
  SAGA_WAIT_MS: integer(10_000, 0, 60_000),
  MAX_BODY_BYTES: integer(64 * 1024, 1, 16 * 1024 * 1024),
  LOG_LEVEL: oneOf("info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
});

const log = createLogger("gateway", env.LOG_LEVEL);
const orchestrator = createServiceClient(OrchestratorService, env.ORCHESTRATOR_URL, { exchange: true });
const health = createServiceClient(Health, env.ORCHESTRATOR_URL);
const app = createApp(orchestrator, health, { waitMs: env.SAGA_WAIT_MS, maxBodyBytes: env.MAX_BODY_BYTES });
const server: Server = await new Promise((resolve, reject) => {
  const s = app.listen(env.PORT, env.HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
});
const address = server.address();
const port = typeof address === "object" && address ? address.port : env.PORT;
logListening(log, { url: `http://${env.HOST}:${port}` });

onShutdown(log, async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  orchestrator.close();
  health.close();
});
