/**
 * Prometheus metrics, kept in memory and written in the text exposition
 * format at GET /metrics. Small on purpose: counters, gauges read at scrape
 * time, and histograms with fixed buckets.
 */
type Labels = Record<string, string>;

const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`).join(",")}}`;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  /** The total over the series whose labels `matches` accepts. */
  sum(matches: (labels: Labels) => boolean): number {
    let total = 0;
    for (const entry of this.values.values()) if (matches(entry.labels)) total += entry.value;
    return total;
  }

  async render(): Promise<string[]> {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${e.value}`)];
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly bounds = LATENCY_BUCKETS_SECONDS) {}

  observe(value: number, labels: Labels = {}): void {
    const key = keyOf(labels);
    const entry = this.series.get(key) ?? { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
    this.bounds.forEach((bound, i) => {
      if (value <= bound) entry.buckets[i]!++;
    });
    entry.sum += value;
    entry.count++;
    this.series.set(key, entry);
  }

  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const entry of this.series.values()) {
      this.bounds.forEach((bound, i) => lines.push(`${this.name}_bucket${labelText({ ...entry.labels, le: String(bound) })} ${entry.buckets[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...entry.labels, le: "+Inf" })} ${entry.count}`);
      lines.push(`${this.name}_sum${labelText(entry.labels)} ${entry.sum}`);
      lines.push(`${this.name}_count${labelText(entry.labels)} ${entry.count}`);
    }
    return lines;
  }
}

/** A gauge whose values are read when scraped. */
class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => Promise<{ labels: Labels; value: number }[]>) {}

  async render(): Promise<string[]> {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, ...(await this.read()).map((e) => `${this.name}${labelText(e.labels)} ${e.value}`)];
  }
}

export class Metrics {
  readonly httpRequests = new Counter("bay_http_requests_total", "HTTP requests by route, method and status");
  readonly httpDuration = new Histogram("bay_http_request_duration_seconds", "HTTP request latency by route and method");
  readonly containerStarts = new Histogram("bay_container_start_seconds", "Time from session start to a ready, handshaken agent");
  readonly containerStartFailures = new Counter("bay_container_start_failures_total", "Session starts that failed");
  readonly warmPoolClaims = new Counter("bay_warm_pool_claims_total", "Sandboxes created from a warm pool member, by profile");
  readonly gcRuns = new Counter("bay_gc_runs_total", "Collector runs");
  readonly gcRemoved = new Counter("bay_gc_removed_total", "Things the collector removed, by task");
  private readonly gauges: Gauge[] = [];

  /** Registers a gauge read at scrape time (sandboxes by status, running sessions, pool sizes). */
  gauge(name: string, help: string, read: () => Promise<{ labels: Labels; value: number }[]>): void {
    this.gauges.push(new Gauge(name, help, read));
  }

  async render(): Promise<string> {
    const families = [this.httpRequests, this.httpDuration, this.containerStarts, this.containerStartFailures, this.warmPoolClaims, this.gcRuns, this.gcRemoved, ...this.gauges];
    return `${(await Promise.all(families.map((family) => family.render()))).flat().join("\n")}\n`;
  }
}
