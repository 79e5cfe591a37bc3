// Prometheus metrics of the hub in the text exposition format (version 0.0.4): counters with labels, gauges
// read at scrape time, and one latency histogram. Small on purpose: the hub needs a handful of series.
type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

export class Counter {
  readonly #values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.#values.values()].map((e) => `${this.name}${labelText(e.labels)} ${e.value}`),
    ];
  }
}

export class Histogram {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.#counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.#counts[i]!++;
  }

  get count(): number {
    return this.#count;
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.#counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.#count}`,
      `${this.name}_sum ${this.#sum}`,
      `${this.name}_count ${this.#count}`,
    ];
  }
}

export interface Gauge {
  name: string;
  help: string;
  read(): Promise<number> | number;
}

export class HubMetrics {
  readonly eventsIngested = new Counter('tp_hub_events_ingested_total', 'Events stored, by kind.');
  readonly eventsDuplicate = new Counter(
    'tp_hub_events_duplicate_total',
    'Events received again after they were stored (acknowledged again, stored once).',
  );
  readonly eventsRejected = new Counter('tp_hub_events_rejected_total', 'Events refused, by error code.');
  readonly chainAlerts = new Counter('tp_hub_chain_alerts_total', 'Hash-chain gaps and breaks, by kind.');
  readonly messagesInvalid = new Counter(
    'tp_hub_mqtt_messages_invalid_total',
    'Status and sync messages refused, by topic kind and error code.',
  );
  readonly ackLatency = new Histogram(
    'tp_hub_ack_latency_seconds',
    'From an event reaching the hub to its ack being sent (after the commit).',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly rosterChanges = new Counter('tp_hub_roster_changes_total', 'Roster changes published, by kind.');
  readonly syncAnswers = new Counter('tp_hub_sync_answers_total', 'Sync answers sent to agents.');
  readonly enrolments = new Counter(
    'tp_hub_enrolments_total',
    'Enrolment photos, by result code (ok or the rejection).',
  );
  readonly #gauges: Gauge[] = [];

  addGauge(gauge: Gauge): void {
    this.#gauges.push(gauge);
  }

  async render(): Promise<string> {
    const lines: string[] = [];
    for (const metric of [
      this.eventsIngested,
      this.eventsDuplicate,
      this.eventsRejected,
      this.chainAlerts,
      this.messagesInvalid,
      this.ackLatency,
      this.rosterChanges,
      this.syncAnswers,
      this.enrolments,
    ]) {
      lines.push(...metric.render());
    }
    for (const gauge of this.#gauges) {
      lines.push(
        `# HELP ${gauge.name} ${gauge.help}`,
        `# TYPE ${gauge.name} gauge`,
        `${gauge.name} ${await gauge.read()}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}
