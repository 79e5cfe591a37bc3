import { Resampler } from './resample.ts';

/** The scratch memory of one model call: its input tensor and the resampler that fills it. */
export interface Scratch {
  buffer: Float32Array;
  resampler: Resampler;
}

/**
 * Scratch memory for the calls of one model. Each call in flight holds its own (the input buffer must stay
 * untouched until the backend's async run is done); a finished call hands it back for the next. The pool
 * grows to the most calls ever in flight at once, which the camera scheduler bounds.
 */
export class ScratchPool {
  private readonly free: Scratch[] = [];

  constructor(private readonly elements: number) {}

  async use<T>(job: (scratch: Scratch) => Promise<T>): Promise<T> {
    const scratch = this.free.pop() ?? {
      buffer: new Float32Array(this.elements),
      resampler: new Resampler(),
    };
    try {
      return await job(scratch);
    } finally {
      this.free.push(scratch);
    }
  }
}
