import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { CounterFamily, HistogramFamily } from "./metric-families.js";

describe("metric families", () => {
  it("a counter's cells are exposed in Prometheus' text format, label values escaped", async () => {
    const registry = new Registry();
    const family = new CounterFamily(registry, "things_total", "Things done", ["kind", "code"]);
    const ok = family.cell({ kind: "a", code: "OK" });
    ok.inc();
    ok.inc(2);
    family.cell({ kind: 'say "hi"\n', code: "X" }).inc();
    expect(family.cell({ kind: "a", code: "OK" })).toBe(ok);
    expect(await registry.metrics()).toBe(
      [
        "# HELP things_total Things done",
        "# TYPE things_total counter",
        'things_total{kind="a",code="OK"} 3',
        'things_total{kind="say \\"hi\\"\\n",code="X"} 1',
        "",
      ].join("\n"),
    );
  });

  it("a histogram's buckets are cumulative, +Inf equals the count, values past the last bound count only there", async () => {
    const registry = new Registry();
    const family = new HistogramFamily(registry, "wait_seconds", "Waits", ["step"], [0.1, 1]);
    const cell = family.cell({ step: "s" });
    for (const v of [0.05, 0.1, 0.5, 3]) cell.observe(v);
    expect(await registry.metrics()).toBe(
      [
        "# HELP wait_seconds Waits",
        "# TYPE wait_seconds histogram",
        'wait_seconds_bucket{step="s",le="0.1"} 2',
        'wait_seconds_bucket{step="s",le="1"} 3',
        'wait_seconds_bucket{step="s",le="+Inf"} 4',
        'wait_seconds_sum{step="s"} 3.65',
        'wait_seconds_count{step="s"} 4',
        "",
      ].join("\n"),
    );
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('wait_seconds_count{step="s"} 0');
  });

  it("refuses label sets that do not match the family, and bounds that are not increasing", () => {
    const registry = new Registry();
    const family = new CounterFamily(registry, "c_total", "C", ["a"]);
    expect(() => family.cell({ b: "x" } as never)).toThrow(/c_total: labels \["b"\] do not match \["a"\]/);
    expect(() => family.cell({ a: "x", b: "y" } as never)).toThrow(TypeError);
    expect(() => new HistogramFamily(registry, "h", "H", [], [1, 1])).toThrow(/increasing/);
    expect(() => new CounterFamily(registry, "c_total", "again", ["a"])).toThrow(/already been registered/);
  });
});
