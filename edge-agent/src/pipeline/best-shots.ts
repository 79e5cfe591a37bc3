/** The best `capacity` shots of a track by quality score; a worse shot never displaces a better one. */
export class BestShots<Shot extends { score: number }> {
  private readonly shots: Shot[] = [];

  constructor(private readonly capacity: number) {}

  /** Whether a shot of this score would be kept (checked before paying for liveness and embedding). */
  wouldKeep(score: number): boolean {
    return this.shots.length < this.capacity || score > this.shots[this.shots.length - 1]!.score;
  }

  add(shot: Shot): void {
    if (!this.wouldKeep(shot.score)) return;
    const at = this.shots.findIndex((s) => s.score < shot.score);
    this.shots.splice(at === -1 ? this.shots.length : at, 0, shot);
    if (this.shots.length > this.capacity) this.shots.pop();
  }

  /** Best first. */
  get list(): readonly Shot[] {
    return this.shots;
  }

  get size(): number {
    return this.shots.length;
  }
}
