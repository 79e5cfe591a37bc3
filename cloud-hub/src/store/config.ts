import { secretRefSchema } from '@truepresence/protocol';
import { z } from 'zod';

export const sqliteStoreConfigSchema = z
  .strictObject({
    type: z.literal('sqlite').describe('One SQLite file on this machine: zero set-up, one hub process.'),
    path: z
      .string()
      .min(1)
      .default('data/hub.sqlite')
      .describe('Database file (WAL mode); its folder is created on first start.'),
    busyTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(5000)
      .describe('How long a write waits while another process (the provisioning CLI) holds the lock.'),
  })
  .describe('SQLite store.');

export const postgresStoreConfigSchema = z
  .strictObject({
    type: z.literal('postgres').describe('PostgreSQL: several stateless hub replicas share one database.'),
    url: z
      .url({ protocol: /^postgres(ql)?$/ })
      .refine((url) => new URL(url).password === '', {
        message: 'remove the password from the URL and give it as "password": {"file": PATH}',
      })
      .default('postgres://truepresence@127.0.0.1:5432/truepresence')
      .describe('postgres://USER@HOST:PORT/DATABASE, without a password.'),
    password: secretRefSchema
      .nullable()
      .default(null)
      .describe('Where the database password is kept; null for trust or peer authentication.'),
    poolSize: z.number().int().min(1).max(100).default(10).describe('Connections per hub process.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(10_000)
      .describe('How long opening a connection may take before the hub gives up.'),
  })
  .describe('PostgreSQL store.');

export const storeConfigSchema = z
  .discriminatedUnion('type', [sqliteStoreConfigSchema, postgresStoreConfigSchema])
  .default({ type: 'sqlite', path: 'data/hub.sqlite', busyTimeoutMs: 5000 })
  .describe(
    'Where the hub keeps sites, devices, events, people and the audit log: {"type": "sqlite"|"postgres"}.',
  );

export type SqliteStoreConfig = z.output<typeof sqliteStoreConfigSchema>;
export type PostgresStoreConfig = z.output<typeof postgresStoreConfigSchema>;
export type StoreConfig = z.output<typeof storeConfigSchema>;
