import type { Metric, Registry } from "prom-client";

/**
 * Counters and histograms whose hot path is a field update. prom-client's own `inc` and
 * `observe` hash the label set into a string and validate it on every call, even through a
 * cached `labels(...)` child; here each label set is resolved once into a cell (a plain
 * object) when the code that records is built, the call only adds to the cell, and the cells
 * become Prometheus samples when the registry is scraped. The registry, the exposition format
 * and the default metrics stay prom-client's.
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

/** One label set of a counter. */
export class CounterCell {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/** One label set of a histogram: counts per bucket (not cumulative), sum and count. */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's registry reads of a metric: name, help, type, and samples on `get()`. */
abstract class Family<L extends string, C extends { labels: Readonly<Record<string, string>> }> {
  readonly aggregator = "sum";
  readonly #cells = new Map<string, C>();
  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {
    // The registry takes any object with a name and get(); its type lists prom-client's classes only.
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The cell of one label set, made on first use and the same object afterwards: call it when
   * the recording code is built (or cache what it returns), not per call.
   * @throws TypeError when `labels` misses a label of the family or has one it does not declare.
   */
  cell(labels: Labels<L>): C {
    const keys = Object.keys(labels);
    if (keys.length !== this.labelNames.length || this.labelNames.some((n) => typeof labels[n] !== "string")) {
      throw new TypeError(`${this.name}: labels ${JSON.stringify(keys)} do not match ${JSON.stringify(this.labelNames)}`);
    }
    const key = this.labelNames.map((n) => labels[n]).join("\u0000");
    let cell = this.#cells.get(key);
    if (!cell) this.#cells.set(key, (cell = this.newCell({ ...labels })));
    return cell;
  }

  protected abstract newCell(labels: Record<string, string>): C;
  protected abstract samples(cell: C): Sample[];
  abstract readonly type: "counter" | "histogram";

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const cell of this.#cells.values()) values.push(...this.samples(cell));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Every cell back to zero (prom-client's `registry.resetMetrics()`). */
  abstract reset(): void;

  protected cells(): IterableIterator<C> {
    return this.#cells.values();
  }
}

/** A counter family: `family.cell({ ... }).inc()`. */
export class CounterFamily<L extends string> extends Family<L, CounterCell> {
  readonly type = "counter";
  protected newCell(labels: Record<string, string>): CounterCell {
    return new CounterCell(labels);
  }
  protected samples(cell: CounterCell): Sample[] {
    return [{ value: cell.value, labels: { ...cell.labels } }];
  }
  reset(): void {
    for (const cell of this.cells()) cell.value = 0;
  }
}

/** A histogram family with fixed bucket upper bounds: `family.cell({ ... }).observe(seconds)`. */
export class HistogramFamily<L extends string> extends Family<L, HistogramCell> {
  readonly type = "histogram";
  readonly bounds: readonly number[];
  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[], bounds: readonly number[]) {
    super(registry, name, help, labelNames);
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new TypeError(`${name}: bucket bounds must be finite and increasing`);
    }
    this.bounds = [...bounds];
  }
  protected newCell(labels: Record<string, string>): HistogramCell {
    return new HistogramCell(labels, this.bounds);
  }
  protected samples(cell: HistogramCell): Sample[] {
    const bucket = `${this.name}_bucket`;
    const out: Sample[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += cell.counts[i]!;
      out.push({ metricName: bucket, value: cumulative, labels: { ...cell.labels, le: bound } });
    });
    out.push({ metricName: bucket, value: cell.count, labels: { ...cell.labels, le: "+Inf" } });
    out.push({ metricName: `${this.name}_sum`, value: cell.sum, labels: { ...cell.labels } });
    out.push({ metricName: `${this.name}_count`, value: cell.count, labels: { ...cell.labels } });
    return out;
  }
  reset(): void {
    for (const cell of this.cells()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}

/** Bucket bounds in seconds for calls and commits: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
