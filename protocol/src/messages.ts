import { z } from 'zod';
import { PROTOCOL_VERSION } from './envelope.ts';
import { ProtocolErrorCode } from './errors.ts';
import { sealedRosterChangeSchema } from './roster.ts';
import { idSchema } from './topics.ts';
import { uuidv7Schema } from './uuidv7.ts';

/** Byte limits per topic kind: anything larger is refused before parsing. */
export const MAX_BYTES = {
  acks: 64 * 1024,
  status: 16 * 1024,
  syncRequest: 1024,
  syncResponse: 4 * 1024 * 1024,
} as const;

/** Most changes in one sync answer; the agent asks again until `more` is false. */
export const SYNC_BATCH_LIMIT = 100;

const isoTime = z.iso.datetime({ offset: false });

/** hub -> agent on `.../acks`: events the hub has durably stored (or refused for good). */
export const ackSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  ids: z
    .array(uuidv7Schema)
    .max(1000)
    .describe('Stored (or already stored) event ids: delete them from the outbox.'),
  rejected: z
    .array(
      z.strictObject({
        id: uuidv7Schema,
        code: z
          .string()
          .regex(/^TP_[A-Z0-9_]+$/)
          .describe('Why the hub refused it; the agent keeps it aside, never deletes it.'),
      }),
    )
    .max(1000)
    .default([]),
});
export type Ack = z.infer<typeof ackSchema>;

export const cameraHealthSchema = z.strictObject({
  id: idSchema,
  state: z.enum(['ok', 'starting', 'reconnecting', 'stalled', 'failed']),
  inputFps: z.number().min(0),
  analysedFps: z.number().min(0),
  droppedFrames: z.number().int().min(0),
  decodeErrors: z.number().int().min(0),
  reconnects: z.number().int().min(0),
  lastFrameAgeMs: z.number().min(0).nullable(),
});
export type CameraHealth = z.infer<typeof cameraHealthSchema>;

/** agent -> hub on `.../status`, retained; the last will publishes `{state: "offline"}`. */
export const statusSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  state: z.enum(['online', 'offline']),
  at: isoTime.optional().describe('When the status was published; absent in the last will.'),
  backlog: z.number().int().min(0).optional().describe('Events in the outbox not yet acknowledged.'),
  rosterSeq: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Last roster seq applied: confirms erasures up to it.'),
  modelPack: z.string().max(80).optional(),
  agentVersion: z.string().max(40).optional(),
  cameras: z.array(cameraHealthSchema).max(64).optional(),
  storage: z
    .strictObject({
      outboxBytes: z.number().int().min(0),
      freeBytes: z.number().int().min(0),
      nearFull: z.boolean(),
    })
    .optional(),
});
export type Status = z.infer<typeof statusSchema>;

/** agent -> hub on `.../sync/req`: send me the roster changes after `afterSeq`. */
export const syncRequestSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  requestId: uuidv7Schema,
  afterSeq: z.number().int().min(0),
  limit: z.number().int().min(1).max(SYNC_BATCH_LIMIT).default(SYNC_BATCH_LIMIT),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** hub -> agent on `.../sync`: one bounded batch, in seq order. */
export const syncResponseSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  requestId: uuidv7Schema,
  changes: z.array(sealedRosterChangeSchema).max(SYNC_BATCH_LIMIT),
  currentSeq: z.number().int().min(0).describe("The site's latest roster seq when the batch was made."),
  more: z.boolean().describe('True when changes after this batch remain: ask again from the last seq.'),
  error: z.enum([ProtocolErrorCode.keyUnknown, ProtocolErrorCode.keyRevoked]).optional(),
});
export type SyncResponse = z.infer<typeof syncResponseSchema>;
