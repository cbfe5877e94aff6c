import { describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { readMetricsConfig } from "./metrics-config.js";

describe("metrics configuration", () => {
  it("gives each gRPC process its default port, the gateway none, and METRICS_PORT overrides", () => {
    expect(readMetricsConfig("orchestrator", {})).toEqual({ enabled: true, host: "127.0.0.1", port: 9000 });
    expect(readMetricsConfig("catalog", {}).port).toBe(9001);
    expect(readMetricsConfig("inventory", {}).port).toBe(9004);
    expect(readMetricsConfig("payments", { METRICS_PORT: "0", HOST: "0.0.0.0" })).toEqual({ enabled: true, host: "0.0.0.0", port: 0 });
    expect(readMetricsConfig("gateway", { METRICS_PORT: "9100" }).port).toBeUndefined();
    expect(readMetricsConfig("gateway", { METRICS: "off" }).enabled).toBe(false);
  });

  it("takes any free metrics port for a process on any free gRPC port (PORT=0), unless METRICS_PORT says otherwise", () => {
    expect(readMetricsConfig("payments", { PORT: "0" }).port).toBe(0);
    expect(readMetricsConfig("payments", { PORT: "6002" }).port).toBe(9002);
    expect(readMetricsConfig("payments", { PORT: "0", METRICS_PORT: "9102" }).port).toBe(9102);
  });

  it("names every bad variable", () => {
    expect(() => readMetricsConfig("payments", { METRICS: "no", METRICS_PORT: "70000" })).toThrow(ConfigError);
    expect(() => readMetricsConfig("payments", { METRICS: "no", METRICS_PORT: "70000" })).toThrow(
      'bad configuration: METRICS="no" is not one of on, off; METRICS_PORT="70000" is not an integer from 0 to 65535',
    );
  });
});
