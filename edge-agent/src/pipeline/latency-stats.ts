export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
}

const window = 1024;

/** Durations of one stage: a running count and mean, percentiles over the last 1024 samples. */
export class LatencyStats {
  private readonly recent = new Float64Array(window);
  private count = 0;
  private sum = 0;

  add(ms: number): void {
    this.recent[this.count % window] = ms;
    this.count += 1;
    this.sum += ms;
  }

  summary(): LatencySummary {
    const n = Math.min(this.count, window);
    if (n === 0) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0 };
    const sorted = this.recent.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    return { count: this.count, meanMs: this.sum / this.count, p50Ms: at(0.5), p95Ms: at(0.95) };
  }
}
