import { type Transferable, Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { Tensor, TensorInfo } from './backend.ts';

/** What the thread (onnxruntime-thread.mjs) is asked. */
export type ThreadRequest =
  | { id: number; kind: 'load'; model: Uint8Array; options: ort.InferenceSession.SessionOptions }
  | { id: number; kind: 'run'; feeds: Record<string, Tensor> }
  | { id: number; kind: 'release' };

/** An output as the model gave it; the backend checks its type. */
export interface OutputMessage {
  type: string;
  data: unknown;
  dims: readonly number[];
}

export type ThreadReply =
  | {
      id: number;
      ok: true;
      metadata?: { inputs: TensorInfo[]; outputs: TensorInfo[] };
      outputs?: Record<string, OutputMessage>;
    }
  | { id: number; ok: false; error: string };

type Request = ThreadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
type Success = Extract<ThreadReply, { ok: true }>;

/**
 * The main thread's side of one inference worker thread: numbered requests, each answered once. The
 * thread keeps the process alive only while a request waits for its answer.
 */
export class SessionThread {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Success) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private failure: Error | null = null;

  constructor() {
    this.worker = new Worker(new URL('./onnxruntime-thread.mjs', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (reply: ThreadReply) => this.answer(reply));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`inference thread exited (code ${code})`)));
  }

  request(request: Request, transfer: readonly Transferable[] = []): Promise<Success> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Success>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private answer(reply: ThreadReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.settled(reply.id);
    if (reply.ok) waiting.resolve(reply);
    else waiting.reject(new Error(reply.error));
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const [id, waiting] of this.pending) {
      this.settled(id);
      waiting.reject(error);
    }
  }
}
