// The agent's whole config: the sections each part exports, composed under one strict schema. main.ts
// parses it once at start-up and passes each section to its part.
import { modelPackConfigSchema } from '@truepresence/model-pack';
import { secretRefSchema } from '@truepresence/protocol';
import { z } from 'zod';
import { vectorCacheConfigSchema } from './cache/config.ts';
import { camerasConfigSchema } from './camera/config.ts';
import { supervisorConfigSchema } from './camera/supervisor.ts';
import { installerConfigSchema } from './installer/config.ts';
import { outboxConfigSchema } from './outbox/config.ts';
import { pipelineConfigSchema } from './pipeline/config.ts';
import { linkConfigSchema } from './sync/config.ts';

const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'use letters, digits, "-" and "_"');

export const agentKeysSchema = z
  .strictObject({
    device: secretRefSchema.describe(
      'Ed25519 private key of this device (PKCS#8 PEM) that signs every event: {"credential": "device.key"}.',
    ),
    cache: secretRefSchema.describe(
      '32-byte storage key (base64url) that encrypts the vector cache and the outbox: {"credential": "cache.key"}.',
    ),
    siteKeys: z
      .array(
        z.strictObject({
          id: z.string().min(1).describe('Key id named by sealed roster changes.'),
          key: secretRefSchema.describe('The 32-byte site roster key (base64url).'),
        }),
      )
      .min(1)
      .describe('Site roster keys that open the roster changes the hub seals for this site.'),
    hubKeys: z
      .array(
        z.strictObject({
          id: z.string().min(1).describe('Hub signing key id.'),
          publicKey: z.string().min(1).describe('Ed25519 public key of the hub, base64url.'),
        }),
      )
      .min(1)
      .describe('Hub public keys whose signatures on roster changes are trusted.'),
  })
  .describe('Keys from provisioning, all as secret references except the public ones.');
export type AgentKeys = z.output<typeof agentKeysSchema>;

export const agentConfigSchema = z
  .strictObject({
    site: idSchema.describe('Site id from provisioning.'),
    device: idSchema.describe('Device id from provisioning.'),
    profile: z
      .string()
      .min(1)
      .default('auto')
      .describe(
        'Device profile: "auto" (detected), a name in device-profiles/, or a path to a profile file.',
      ),
    ffmpegPath: z
      .string()
      .min(1)
      .default('/usr/bin/ffmpeg')
      .describe('The system ffmpeg that decodes cameras.'),
    keys: agentKeysSchema,
    models: modelPackConfigSchema
      .pick({ manifest: true, cacheDir: true })
      .prefault({})
      .describe('Model pack; how it runs (providers, threads) comes from the device profile.'),
    link: linkConfigSchema.prefault({}),
    cameras: camerasConfigSchema,
    supervisor: supervisorConfigSchema.prefault({}),
    pipeline: pipelineConfigSchema.prefault({}),
    cache: vectorCacheConfigSchema.prefault({}),
    outbox: outboxConfigSchema.prefault({}),
    installer: installerConfigSchema.prefault({}),
    shutdown: z
      .strictObject({
        flushTimeoutMs: z
          .int()
          .min(0)
          .max(25_000)
          .default(5000)
          .describe(
            'On SIGTERM, while connected, wait this long for the hub to ack pending events (systemd allows 30 s to stop).',
          ),
      })
      .prefault({})
      .describe('Stopping.'),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Least severe level written.'),
      })
      .prefault({})
      .describe('Logging (JSON lines on stdout; secrets, keys and face data are never written).'),
  })
  .superRefine((config, ctx) => {
    const ids = new Set(config.cameras.map((c) => c.id));
    for (const id of Object.keys(config.pipeline.cameras)) {
      if (!ids.has(id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['pipeline', 'cameras', id],
          message: `no camera "${id}" in "cameras"; use one of its ids`,
        });
      }
    }
  })
  .describe('TruePresence edge agent.');
export type AgentConfig = z.output<typeof agentConfigSchema>;
