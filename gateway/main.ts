// Composition root of the gateway.
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { ConfigError, integer, oneOf, readEnv, text } from "#platform/config.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { readGrpcTls } from "#platform/grpc-tls.js";
import { metricsEnabled } from "#platform/metrics-registry.js";
import { peerUrls } from "#platform/peer-addresses.js";
import { runProcess } from "#platform/run-service.js";
import { readOptionalIdentity } from "#platform/tls-files.js";
import { ApiKeyRing } from "./api-keys.js";
import { createApp } from "./app.js";
import { listenHttp } from "./http-server.js";
import { parseRateLimit } from "./rate-limit.js";
import { sagaAccess } from "./saga-access.js";
import { apiKeysField, createOperatorAuthenticator, jwtPublicKeyFileField, jwtSecretField } from "./operator-auth.js";

const readConfig = () => {
  const env = readEnv({
    HOST: text("127.0.0.1"),
    PORT: integer(8000, 0, 65535),
    ORCHESTRATOR_URL: peerUrls("http://127.0.0.1:5000"),
    SAGA_WAIT_MS: integer(10_000, 0, 60_000),
    MAX_BODY_BYTES: integer(64 * 1024, 1, 16 * 1024 * 1024),
    REQUEST_TIMEOUT_MS: integer(30_000, 100, 600_000),
    LOG_LEVEL: oneOf("info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    HTTPS_CERT: text(""),
    HTTPS_KEY: text(""),
    SAGA_API_KEYS: { ...text(""), secret: true },
    SAGA_RATE_LIMIT: text(""),
    SAGA_RATE_BURST: text(""),
    OPERATOR_API_KEYS: apiKeysField(),
    OPERATOR_JWT_SECRET: jwtSecretField(),
    OPERATOR_JWT_PUBLIC_KEY_FILE: jwtPublicKeyFileField(),
    OPERATOR_JWT_ISSUER: text(""),
    OPERATOR_JWT_AUDIENCE: text(""),
  });
  if (env.OPERATOR_JWT_SECRET && env.OPERATOR_JWT_PUBLIC_KEY_FILE)
    throw new ConfigError("bad configuration: OPERATOR_JWT_SECRET and OPERATOR_JWT_PUBLIC_KEY_FILE are both set; JWTs are verified by one of them");
  return { ...env, logLevel: env.LOG_LEVEL };
};

// The same life as every service (platform/run-service.ts), over HTTP instead of gRPC.
await runProcess("gateway", readConfig, async ({ config: env, log }) => {
  // Certificates and keys are read and checked first: a bad one stops the gateway naming the variable and the path.
  const tls = readGrpcTls();
  const https = readOptionalIdentity({ variable: "HTTPS_CERT", path: env.HTTPS_CERT }, { variable: "HTTPS_KEY", path: env.HTTPS_KEY });
  const keys = ApiKeyRing.parse("SAGA_API_KEYS", env.SAGA_API_KEYS);
  const rateLimit = parseRateLimit("SAGA_RATE_LIMIT", env.SAGA_RATE_LIMIT, "SAGA_RATE_BURST", env.SAGA_RATE_BURST);
  if (rateLimit && keys.isEmpty) throw new Error("SAGA_RATE_LIMIT is set but SAGA_API_KEYS is not: the limit is per API key");
  const orchestrator = createServiceClient(OrchestratorService, env.ORCHESTRATOR_URL, { exchange: true, tls });
  const health = createServiceClient(Health, env.ORCHESTRATOR_URL, { tls });
  const access = sagaAccess({ keys, rateLimit });
  const operatorAuth = createOperatorAuthenticator({
    apiKeys: env.OPERATOR_API_KEYS,
    jwtKey: env.OPERATOR_JWT_SECRET ?? env.OPERATOR_JWT_PUBLIC_KEY_FILE ?? undefined,
    jwtIssuer: env.OPERATOR_JWT_ISSUER || undefined,
    jwtAudience: env.OPERATOR_JWT_AUDIENCE || undefined,
  });
  log.info(
    { operatorAuth: operatorAuth.mode },
    operatorAuth.mode === "loopback"
      ? "operator API and console: loopback clients only (no credential configured)"
      : "operator API and console: credentials required",
  );
  const app = createApp(orchestrator, health, { waitMs: env.SAGA_WAIT_MS, maxBodyBytes: env.MAX_BODY_BYTES, log, sagaAccess: access, operatorAuth });
  const http = await listenHttp(app, { host: env.HOST, port: env.PORT, requestTimeoutMs: env.REQUEST_TIMEOUT_MS, tls: https });
  return {
    url: http.url,
    startFields: {
      apiKeys: keys.names.length,
      rateLimit: env.SAGA_RATE_LIMIT || undefined,
      // Its metrics are served on its own port (the other processes have a METRICS_PORT).
      ...(metricsEnabled() ? { metrics: `${http.url}/metrics` } : {}),
    },
    async close() {
      await http.close();
      orchestrator.close();
      health.close();
    },
  };
});
