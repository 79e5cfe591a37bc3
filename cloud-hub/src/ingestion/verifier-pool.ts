// Event verification on worker threads, so that signature checks use the machine's other cores while the
// main thread runs the broker, the store and the acks. Jobs queued in one turn of the event loop travel to a
// worker as one message. While few events arrive they are checked on the main thread, which is quicker than
// the round trip to a thread (ack latency); once a backlog builds, the threads take over (throughput). With
// no threads configured, every job runs on the main thread.
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type VerifyJob, type VerifyOutcome, verifyJob } from './verify.ts';

interface Pending {
  jobs: VerifyJob[];
  resolve: Array<(outcome: VerifyOutcome) => void>;
  worker?: Worker;
}

/** Workers run the TypeScript sources too (no build step): tsx is registered in each before its module loads. */
function startWorker(): Worker {
  const entry = new URL('./verify-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true },
  );
}

/** Jobs per turn of the event loop checked on the main thread while no thread has work. */
const inlinePerTurn = 4;

export class VerifierPool {
  readonly #threads: number;
  readonly #keys = new Map<string, KeyObject>();
  #workers: Worker[] = [];
  #next = 0;
  #batchId = 0;
  #queued: Pending | undefined;
  readonly #inFlight = new Map<number, Pending>();
  /** Jobs queued or at a thread. */
  #waiting = 0;
  /** Jobs asked for in this turn of the event loop. */
  #thisTurn = 0;

  readonly #onError: ((error: Error) => void) | undefined;

  constructor(threads: number, onError?: (error: Error) => void) {
    this.#threads = threads;
    this.#onError = onError;
  }

  start(): void {
    for (let i = 0; i < this.#threads; i++) this.#workers.push(this.#spawn());
  }

  #spawn(): Worker {
    const worker = startWorker();
    worker.on('message', (result: { id: number; outcomes: VerifyOutcome[] }) => {
      const pending = this.#inFlight.get(result.id);
      this.#inFlight.delete(result.id);
      this.#waiting -= result.outcomes.length;
      result.outcomes.forEach((outcome, j) => {
        pending?.resolve[j]?.(outcome);
      });
    });
    // A worker that dies takes no job with it: its jobs are checked here and a new worker takes its place.
    worker.once('error', (error) => {
      this.#onError?.(error);
      this.#replace(worker);
    });
    worker.unref();
    return worker;
  }

  #replace(dead: Worker): void {
    const index = this.#workers.indexOf(dead);
    if (index === -1) return;
    this.#workers[index] = this.#spawn();
    for (const [id, pending] of this.#inFlight) {
      if (pending.worker !== dead) continue;
      this.#inFlight.delete(id);
      this.#waiting -= pending.jobs.length;
      pending.jobs.forEach((job, j) => {
        pending.resolve[j]?.(verifyJob(job, this.#keys));
      });
    }
  }

  verify(job: VerifyJob): Promise<VerifyOutcome> {
    if (this.#thisTurn++ === 0) {
      setImmediate(() => {
        this.#thisTurn = 0;
      });
    }
    if (this.#workers.length === 0 || (this.#waiting === 0 && this.#thisTurn <= inlinePerTurn)) {
      return Promise.resolve(verifyJob(job, this.#keys));
    }
    this.#waiting++;
    return new Promise((resolve) => {
      if (!this.#queued) {
        this.#queued = { jobs: [], resolve: [] };
        setImmediate(() => this.#send());
      }
      // Only the payload's own bytes travel (an MQTT payload may be a view of a much larger buffer).
      this.#queued.jobs.push({ ...job, payload: new Uint8Array(job.payload) });
      this.#queued.resolve.push(resolve);
    });
  }

  #send(): void {
    const pending = this.#queued;
    this.#queued = undefined;
    if (!pending) return;
    const id = ++this.#batchId;
    const worker = this.#workers[this.#next++ % this.#workers.length]!;
    pending.worker = worker;
    this.#inFlight.set(id, pending);
    worker.postMessage({ id, jobs: pending.jobs });
  }

  async stop(): Promise<void> {
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
