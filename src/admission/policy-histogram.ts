/**
 * A Prometheus histogram with one label whose observation is a bucket search and three
 * array updates. The webhook observes one evaluation time per policy per request (dozens per
 * request); prom-client's labelled `observe` validates and hashes the labels each time, which
 * cost about 1 µs per observation, ~3% of the server's CPU at load. The exposition is the one
 * prom-client writes for its own histograms (`_bucket` with cumulative counts and `le`, `_sum`,
 * `_count`), and a prom-client Registry takes it like its own metrics: a registry only reads
 * `name` and calls `get()` (and `reset()`); cluster aggregation sums the values.
 */

/** What a registry reads of a metric (prom-client's MetricObjectWithValues). */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: "histogram";
  aggregator: "sum";
  values: { labels: Record<string, string | number>; value: number; metricName: string; exemplar?: null }[];
}

/** Options of {@link OneLabelHistogram}. */
export interface OneLabelHistogramOptions {
  name: string;
  help: string;
  labelName: string;
  /** Upper bounds, ascending (`+Inf` is added). */
  buckets: readonly number[];
}

export class OneLabelHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  readonly aggregator = "sum" as const;
  private readonly labelName: string;
  private readonly buckets: readonly number[];
  /** Per label value: a count per bucket (non-cumulative, the last one `+Inf`), then the sum. */
  private series = new Map<string, Float64Array>();

  constructor(options: OneLabelHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.labelName = options.labelName;
    this.buckets = [...options.buckets];
    for (let i = 1; i < this.buckets.length; i++)
      if (!((this.buckets[i] as number) > (this.buckets[i - 1] as number)))
        throw new Error(`${options.name}: buckets must be ascending`);
  }

  /** Record `value` for `labelValue`. */
  observe(labelValue: string, value: number): void {
    let counts = this.series.get(labelValue);
    if (counts === undefined) {
      counts = new Float64Array(this.buckets.length + 2);
      this.series.set(labelValue, counts);
    }
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    (counts[i] as number)++;
    counts[buckets.length + 1] = (counts[buckets.length + 1] as number) + value;
  }

  /** The exposition, as prom-client's Histogram#get returns it. */
  get(): MetricSnapshot {
    const values: MetricSnapshot["values"] = [];
    const inf = this.buckets.length;
    for (const [labelValue, counts] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= inf; i++) {
        cumulative += counts[i] as number;
        values.push({
          labels: { le: i === inf ? "+Inf" : (this.buckets[i] as number), [this.labelName]: labelValue },
          value: cumulative,
          metricName: `${this.name}_bucket`,
          exemplar: null,
        });
      }
      values.push({
        labels: { [this.labelName]: labelValue },
        value: counts[inf + 1] as number,
        metricName: `${this.name}_sum`,
      });
      values.push({
        labels: { [this.labelName]: labelValue },
        value: cumulative,
        metricName: `${this.name}_count`,
      });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forget every observation (prom-client's Registry#resetMetrics). */
  reset(): void {
    this.series = new Map();
  }
}
