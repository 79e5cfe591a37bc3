// Checking one event payload (size, UTF-8, JSON, schema, topic, device key, signature) with the protocol's
// verifyEvent, in a form that runs the same on the main thread and in a verification worker: the job
// carries the device's registered key, the outcome is plain data.
import type { KeyObject } from 'node:crypto';
import {
  type EventEnvelope,
  isTpError,
  MAX_EVENT_BYTES,
  parseJsonPayload,
  publicKeyFromBase64,
  uuidv7Schema,
  verifyEvent,
} from '@truepresence/protocol';

export interface VerifyJob {
  payload: Uint8Array;
  /** Site and device of the topic it arrived on. */
  site: string;
  device: string;
  /** The topic device's registration, or undefined when it is unknown. */
  key: { siteId: string; publicKey: string; revoked: boolean } | undefined;
}

export type VerifyOutcome =
  | { ok: true; envelope: EventEnvelope; hash: string }
  | { ok: false; code: string; message: string; id: string | undefined };

const idInText = /"id"\s*:\s*"([0-9a-f-]{36})"/;

/** The event id of a payload the hub could not accept, when one can be read from it. */
function idOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return uuidv7Schema.safeParse(id).success ? (id as string) : undefined;
}

function idInBytes(payload: Uint8Array): string | undefined {
  return idOf({ id: idInText.exec(Buffer.from(payload.subarray(0, 4096)).toString('latin1'))?.[1] });
}

export function verifyJob(job: VerifyJob, keys: Map<string, KeyObject>): VerifyOutcome {
  let value: unknown;
  try {
    value = parseJsonPayload(job.payload, MAX_EVENT_BYTES);
  } catch (error) {
    return refusal(error, idInBytes(job.payload));
  }
  try {
    const verified = verifyEvent(value as EventEnvelope, {
      topic: { site: job.site, device: job.device },
      lookupKey: (site, device) => {
        if (!job.key || device !== job.device || site !== job.key.siteId) return undefined;
        let publicKey = keys.get(job.key.publicKey);
        if (!publicKey) {
          publicKey = publicKeyFromBase64(job.key.publicKey);
          keys.set(job.key.publicKey, publicKey);
        }
        return { publicKey, revoked: job.key.revoked };
      },
    });
    return { ok: true, envelope: verified.envelope, hash: verified.hash };
  } catch (error) {
    return refusal(error, idOf(value));
  }
}

function refusal(error: unknown, id: string | undefined): VerifyOutcome {
  return {
    ok: false,
    code: isTpError(error) ? error.code : 'TP_HUB_INTERNAL',
    message: error instanceof Error ? error.message : String(error),
    id,
  };
}
