/**
 * Holds at most one item between a producer and a slower consumer: a newer item replaces one not yet
 * taken, and the replaced one counts as dropped. Memory stays bounded whatever the rates.
 */
export class LatestFrameSlot<T> {
  private item: T | undefined;
  private full = false;
  private putCount = 0;
  private takenCount = 0;
  private droppedCount = 0;

  /** Stores `item`; returns true when it replaced an item that was never taken. */
  put(item: T): boolean {
    this.putCount += 1;
    const replaced = this.full;
    if (replaced) this.droppedCount += 1;
    this.item = item;
    this.full = true;
    return replaced;
  }

  /** Removes and returns the latest item, or undefined when there is none. */
  take(): T | undefined {
    if (!this.full) return undefined;
    const item = this.item;
    this.item = undefined;
    this.full = false;
    this.takenCount += 1;
    return item;
  }

  get ready(): boolean {
    return this.full;
  }

  get counts(): { put: number; taken: number; dropped: number } {
    return { put: this.putCount, taken: this.takenCount, dropped: this.droppedCount };
  }
}
