import { z } from 'zod';

const MiB = 1024 * 1024;

export const outboxConfigSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('/var/lib/truepresence/outbox.db')
      .describe('Encrypted SQLite file of signed events waiting for the hub, apart from the vector cache.'),
    maxBytes: z
      .int()
      .min(MiB)
      .default(256 * MiB)
      .describe(
        'Most bytes of envelopes kept (pending plus dead-lettered); beyond, new decisions are refused with TP_AGENT_OUTBOX_FULL. The file takes about 1.5 times this.',
      ),
    nearFullRatio: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.8)
      .describe('Share of maxBytes from which the outbox reports nearFull in status and warns in the log.'),
    reserveDiskBytes: z
      .int()
      .min(0)
      .default(64 * MiB)
      .describe(
        'Free space kept on the file system: below it decisions are refused; below twice it the outbox is nearFull.',
      ),
  })
  .describe('Durable outbox: every decision is signed and committed here before it counts as accepted.');
export type OutboxConfig = z.output<typeof outboxConfigSchema>;
