/**
 * A minimal Prometheus registry (text exposition format 0.0.4): counters and gauges with labels,
 * rendered at GET /metrics on every HTTP listener.
 */
type Labels = Record<string, string>;

const labelKey = (names: readonly string[], labels: Labels): string => names.map((n) => labels[n] ?? '').join('\u0000');
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

abstract class Metric {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly type: 'counter' | 'gauge',
  ) {}
  protected entry(labels: Labels) {
    const key = labelKey(this.labelNames, labels);
    let e = this.values.get(key);
    if (!e) {
      e = { labels: { ...labels }, value: 0 };
      this.values.set(key, e);
    }
    return e;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values()) {
      const l = this.labelNames.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`).join(',');
      lines.push(`${this.name}${l ? `{${l}}` : ''} ${value}`);
    }
    return lines.join('\n');
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }
  /** Makes a label combination appear with 0 before it first happens. */
  init(labels: Labels): void {
    this.entry(labels);
  }
}

export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    readonly collect?: () => number,
  ) {
    super(name, help, labelNames, 'gauge');
  }
  set(value: number, labels: Labels = {}): void {
    this.entry(labels).value = value;
  }
  override render(): string {
    if (this.collect) this.set(this.collect());
    return super.render();
  }
}

export class Registry {
  readonly #metrics: Array<{ render(): string }> = [];
  register<M extends { render(): string }>(m: M): M {
    this.#metrics.push(m);
    return m;
  }
  render(): string {
    return `${this.#metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** process_* metrics every NF exposes. */
export function registerProcessMetrics(r: Registry): void {
  r.register(
    new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [], () => process.memoryUsage().rss),
  );
  r.register(
    new Gauge('process_uptime_seconds', 'Seconds since the process started.', [], () => Math.round(process.uptime())),
  );
}

/** A Prometheus histogram with fixed upper bounds (seconds), cumulative buckets, _sum and _count per label set. */
export class Histogram {
  readonly type = 'histogram';
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(this.labelNames, labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]! += 1;
    });
    s.sum += value;
    s.count += 1;
  }
  count(labels: Labels = {}): number {
    return this.#series.get(labelKey(this.labelNames, labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      const l = this.labelNames.map((n) => `${n}="${escapeLabel(s.labels[n] ?? '')}"`);
      const with_ = (extra: string[]) => (extra.length ? `{${extra.join(',')}}` : '');
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${with_([...l, `le="${b}"`])} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${with_([...l, 'le="+Inf"'])} ${s.count}`);
      lines.push(`${this.name}_sum${with_(l)} ${s.sum}`, `${this.name}_count${with_(l)} ${s.count}`);
    }
    return lines.join('\n');
  }
}
