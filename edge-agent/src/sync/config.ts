import { SYNC_BATCH_LIMIT, secretRefSchema } from '@truepresence/protocol';
import { z } from 'zod';
import { backoffSchema } from '../camera/config.ts';

export const publisherConfigSchema = z
  .strictObject({
    window: z
      .int()
      .min(1)
      .max(10_000)
      .default(500)
      .describe('Most events published and not yet acknowledged by the hub; sending pauses at this many.'),
    ackTimeoutMs: z
      .int()
      .min(100)
      .default(10_000)
      .describe(
        'With events in flight and no ack from the hub for this long, the window is sent again from the oldest pending event.',
      ),
    maxAckTimeoutMs: z
      .int()
      .min(100)
      .default(300_000)
      .describe('Cap of the ack wait, which doubles after each timeout without progress.'),
  })
  .refine((p) => p.maxAckTimeoutMs >= p.ackTimeoutMs, {
    message: 'maxAckTimeoutMs must be at least ackTimeoutMs',
  })
  .describe('Sending the outbox: QoS 1 in seq order, deleted only on the hub ack.');
export type PublisherConfig = z.output<typeof publisherConfigSchema>;

export const rosterSyncConfigSchema = z
  .strictObject({
    timeoutMs: z
      .int()
      .min(100)
      .default(15_000)
      .describe('Wait for a sync answer before asking again; the outbox starts draining meanwhile.'),
    batch: z
      .int()
      .min(1)
      .max(SYNC_BATCH_LIMIT)
      .default(SYNC_BATCH_LIMIT)
      .describe('Roster changes asked for per sync request.'),
    retry: backoffSchema
      .default({ initialMs: 1000, maxMs: 300_000 })
      .describe(
        'Delay before asking again after a timeout, a refused answer or a change that did not verify.',
      ),
  })
  .describe('Roster catch-up on every connect and after a gap in live changes.');
export type RosterSyncConfig = z.output<typeof rosterSyncConfigSchema>;

export const linkConfigSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|tcp|tls|wss?):\/\/[^\s]+$/, 'write mqtt://HOST:PORT or mqtts://HOST:PORT')
      .default('mqtt://127.0.0.1:1883')
      .describe('Broker URL (MQTT 3.1.1): the hub embedded broker or any external one.'),
    username: z
      .string()
      .min(1)
      .optional()
      .describe('Broker user name from provisioning; absent for a broker without authentication.'),
    password: secretRefSchema
      .optional()
      .describe('Where the provisioned broker password is kept: {"file": PATH} or {"credential": NAME}.'),
    keepaliveSec: z.int().min(5).max(600).default(30).describe('MQTT keepalive.'),
    connectTimeoutMs: z
      .int()
      .min(1000)
      .default(10_000)
      .describe('Give up one connection attempt after this.'),
    reconnect: backoffSchema
      .default({ initialMs: 1000, maxMs: 60_000 })
      .describe('Delay before each reconnect: exponential backoff with full jitter, reset on connect.'),
    statusIntervalMs: z
      .int()
      .min(1000)
      .default(60_000)
      .describe('Republish the retained status this often even when nothing changed.'),
    statusMinIntervalMs: z
      .int()
      .min(0)
      .default(1000)
      .describe('Changes (backlog, roster seq, storage) republish the status at most this often.'),
    publisher: publisherConfigSchema.default({ window: 500, ackTimeoutMs: 10_000, maxAckTimeoutMs: 300_000 }),
    sync: rosterSyncConfigSchema.default({
      timeoutMs: 15_000,
      batch: SYNC_BATCH_LIMIT,
      retry: { initialMs: 1000, maxMs: 300_000 },
    }),
  })
  .refine((l) => (l.username === undefined) === (l.password === undefined), {
    message: 'give both username and password, or neither',
  })
  .describe('The MQTT link to the hub: events out, acks, roster changes and sync in, retained status.');
export type LinkConfig = z.output<typeof linkConfigSchema>;
