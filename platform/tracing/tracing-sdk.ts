import { oneOf, readEnv, text } from "../config.js";
import { tracingSwitch } from "./tracing-switch.js";

/** The tracing of one process, as `startTracing` left it. */
export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /** Exports the spans still buffered, then stops (a no-op when tracing is off). */
  shutdown(): Promise<void>;
}

/** The variables that decide whether a process traces (the OTLP exporter reads its own `OTEL_EXPORTER_OTLP_*`). */
export function readTracingConfig(serviceName: string, env?: Record<string, string | undefined>) {
  return readEnv(
    {
      OTEL_SDK_DISABLED: oneOf("false", ["true", "false"]),
      OTEL_TRACES_EXPORTER: oneOf("none", ["none", "otlp"]),
      OTEL_SERVICE_NAME: text(serviceName),
    },
    env,
  );
}

/**
 * Installs the OpenTelemetry SDK when `OTEL_TRACES_EXPORTER=otlp` (and `OTEL_SDK_DISABLED` is not
 * `true`): spans go through a batch processor to the OTLP exporter (protobuf over HTTP, to
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`/v1/traces, default
 * http://localhost:4318/v1/traces), with `service.name` = `OTEL_SERVICE_NAME` or the process's
 * name; the W3C trace context and baggage propagators and the AsyncLocalStorage context
 * manager are registered. Otherwise nothing is loaded: the API's no-op tracer stays in place.
 * @throws ConfigError naming a bad OTEL_* variable.
 */
export async function startTracing(serviceName: string, env?: Record<string, string | undefined>): Promise<Tracing> {
  const config = readTracingConfig(serviceName, env);
  if (config.OTEL_SDK_DISABLED === "true" || config.OTEL_TRACES_EXPORTER === "none") {
    return { enabled: false, shutdown: async () => {} };
  }
  // Loaded only here, so a process that does not trace never loads the SDK.
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  tracingSwitch.on = true;
  return { enabled: true, shutdown: () => provider.shutdown() };
}
