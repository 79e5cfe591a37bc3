/**
 * Who was already counted at each entrance: a person decided at an entrance within `intervalMs` (frame
 * time) gives no second attendance there. Memory stays bounded: entries older than the interval are pruned.
 */
export class RecentAttendance {
  private readonly last = new Map<string, number>();
  private prunedAt = 0;

  constructor(private readonly intervalMs: number) {}

  /** Records an attendance at `at` unless one was recorded within the interval; returns whether it was new. */
  admit(entrance: string, personId: string, at: number): boolean {
    this.prune(at);
    const key = `${entrance}\u0000${personId}`;
    const previous = this.last.get(key);
    if (previous !== undefined && at - previous < this.intervalMs) return false;
    this.last.set(key, at);
    return true;
  }

  /** Undoes the `admit` of an attendance that could not be stored, so the person's next pass counts. */
  forget(entrance: string, personId: string): void {
    this.last.delete(`${entrance}\u0000${personId}`);
  }

  get size(): number {
    return this.last.size;
  }

  private prune(now: number): void {
    if (now - this.prunedAt < this.intervalMs) return;
    this.prunedAt = now;
    for (const [key, at] of this.last) if (now - at >= this.intervalMs) this.last.delete(key);
  }
}
