// A verification thread: checks batches of event payloads (Ed25519 dominates the cost) off the main thread.
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { type VerifyJob, verifyJob } from './verify.ts';

const keys = new Map<string, KeyObject>();
parentPort?.on('message', (batch: { id: number; jobs: VerifyJob[] }) => {
  parentPort?.postMessage({ id: batch.id, outcomes: batch.jobs.map((job) => verifyJob(job, keys)) });
});
