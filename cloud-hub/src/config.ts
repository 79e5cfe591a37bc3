// The hub's one config, parsed once by main.ts. Every key has a description and a default, so an empty file
// (or none) starts the hub on embedded defaults: SQLite and its own MQTT broker under ./var/hub.
import { SYNC_BATCH_LIMIT, secretRefSchema } from '@truepresence/protocol';
import { z } from 'zod';
import { storeConfigSchema } from './store/config.ts';

const port = z.number().int().min(0).max(65_535);

export const embeddedBrokerConfigSchema = z
  .strictObject({
    type: z.literal('embedded').describe('The hub runs its own MQTT broker (aedes): one hub process.'),
    host: z.string().min(1).default('127.0.0.1').describe('Address the broker listens on; 0.0.0.0 for all.'),
    port: port
      .default(1884)
      .describe('MQTT 3.1.1 TCP port for the agents (1883 is often taken by a system broker); 0 picks one.'),
    persistence: z
      .enum(['level', 'memory'])
      .default('level')
      .describe(
        'Where the broker keeps retained messages and queued messages of offline agents: "level" on disk under dataDir/broker, "memory" for tests.',
      ),
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(4 * 1024 * 1024)
      .describe(
        'Publishes larger than this are refused by the broker itself (the hub applies its own limits below it).',
      ),
  })
  .describe('Embedded broker.');

const externalBrokerConfigSchema = z
  .strictObject({
    type: z
      .literal('external')
      .describe(
        'An MQTT 5 broker run apart (Mosquitto 2, EMQX, HiveMQ...): several hub replicas share the load.',
      ),
    url: z
      .url({ protocol: /^(mqtt|mqtts)$/ })
      .refine((url) => new URL(url).password === '', {
        message: 'remove the password from the URL and give it as "password": {"file": PATH}',
      })
      .default('mqtt://127.0.0.1:1883')
      .describe('mqtt://HOST:PORT or mqtts://HOST:PORT, without credentials.'),
    username: z.string().min(1).nullable().default('hub').describe('Broker login of the hub; null for none.'),
    password: secretRefSchema.nullable().default(null).describe('Where the hub broker password is kept.'),
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .nullable()
      .default(null)
      .describe('MQTT client id of this replica; null makes one from the host name and process id.'),
    shareGroup: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .default('hub')
      .describe(
        'MQTT 5 shared subscription group ($share/GROUP/...) that replicas split events and sync requests in.',
      ),
    sessionExpirySeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(300)
      .describe("How long the broker keeps this replica's queued messages while it restarts; 0 for none."),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(120_000)
      .default(10_000)
      .describe('Connection attempt limit.'),
  })
  .describe('External broker.');

const brokerConfigSchema = z
  .discriminatedUnion('type', [embeddedBrokerConfigSchema, externalBrokerConfigSchema])
  .prefault({ type: 'embedded' })
  .describe('MQTT broker between agents and hub: {"type": "embedded"} or {"type": "external"}.');

export const hubConfigSchema = z
  .strictObject({
    dataDir: z
      .string()
      .min(1)
      .default('var/hub')
      .describe(
        "Folder of generated keys (mode 0700) and the embedded broker's files; created on first start.",
      ),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Least severe level written.'),
      })
      .prefault({})
      .describe('Logging.'),
    http: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe('Address of the REST API, metrics and web page.'),
        port: port.default(8080).describe('HTTP port; 0 picks one.'),
        trustProxy: z
          .boolean()
          .default(false)
          .describe('Take the client address from X-Forwarded-For (only behind your own reverse proxy).'),
      })
      .prefault({})
      .describe('HTTP server.'),
    metrics: z
      .strictObject({
        token: secretRefSchema
          .nullable()
          .default(null)
          .describe(
            'Bearer token that scrapes of GET /metrics send ("Authorization: Bearer TOKEN"; Prometheus: authorization.credentials_file), at least 20 characters; null for none.',
          ),
        loopback: z
          .boolean()
          .default(true)
          .describe(
            'Let clients on this machine (127.0.0.0/8, ::1) scrape without the token. Behind a reverse proxy on this machine, turn it off or set http.trustProxy.',
          ),
      })
      .prefault({})
      .describe(
        'Prometheus metrics at GET /metrics: refused (401) unless the client sends the token or, when loopback is on, connects from this machine.',
      ),
    store: storeConfigSchema
      .prefault({ type: 'sqlite', path: 'var/hub/hub.sqlite' })
      .describe(
        'Where the hub keeps its data: {"type": "sqlite", "path": ...} or {"type": "postgres", "url": ...}.',
      ),
    broker: brokerConfigSchema,
    keys: z
      .strictObject({
        hubSigningKey: secretRefSchema
          .nullable()
          .default(null)
          .describe(
            'Ed25519 private key (PKCS#8 PEM) that signs roster changes; null generates dataDir/keys/hub-signing.pem on first start. Replicas must share it.',
          ),
        hubKeyId: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/)
          .default('hub-1')
          .describe('Name of the signing key that agents look up; change it when the key changes.'),
        dataKey: secretRefSchema
          .nullable()
          .default(null)
          .describe(
            '32-byte AES-256-GCM key (base64url or hex) that encrypts templates, photos and site roster keys at rest; null generates dataDir/keys/data.key. Replicas must share it.',
          ),
      })
      .prefault({})
      .describe('Hub keys. Files are refused unless mode 0600 or stricter.'),
    auth: z
      .strictObject({
        adminToken: secretRefSchema
          .nullable()
          .default(null)
          .describe(
            'Bearer token of the admin API (provisioning uses it); null generates dataDir/keys/admin-api-token on first start.',
          ),
        initialAdminPassword: secretRefSchema
          .nullable()
          .default(null)
          .describe(
            'Password of the first "admin" user; null makes a random one printed once on first start.',
          ),
        sessionHours: z
          .number()
          .min(0.1)
          .max(720)
          .default(12)
          .describe('Idle time after which a login ends.'),
        secureCookies: z
          .boolean()
          .default(false)
          .describe('Mark session cookies Secure: set true whenever the page is served over HTTPS.'),
        loginAttemptsPerMinute: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .default(10)
          .describe('Failed logins allowed per user name per minute (ten times as many per client address).'),
      })
      .prefault({})
      .describe('Admin API authentication.'),
    ingestion: z
      .strictObject({
        batchMaxEvents: z
          .number()
          .int()
          .min(1)
          .max(5000)
          .default(500)
          .describe('Most events committed in one transaction.'),
        batchMaxDelayMs: z
          .number()
          .int()
          .min(0)
          .max(1000)
          .default(2)
          .describe('Longest wait to fill a batch before committing it (adds to ack latency).'),
        verifyThreads: z
          .number()
          .int()
          .min(0)
          .max(64)
          .nullable()
          .default(null)
          .describe(
            'Threads that check event signatures besides the main thread; 0 checks on the main thread, null uses min(4, CPUs - 1).',
          ),
        clockSkewAlertSeconds: z
          .number()
          .int()
          .min(1)
          .default(300)
          .describe('An event captured this far in the future raises a clock_skew alert for its device.'),
      })
      .prefault({})
      .describe('Event ingestion.'),
    roster: z
      .strictObject({
        syncBatchLimit: z
          .number()
          .int()
          .min(1)
          .max(SYNC_BATCH_LIMIT)
          .default(SYNC_BATCH_LIMIT)
          .describe('Most roster changes in one sync answer; the agent asks again while "more" is true.'),
      })
      .prefault({})
      .describe('Roster distribution.'),
    enrolment: z
      .strictObject({
        modelPack: z
          .string()
          .min(1)
          .nullable()
          .default(null)
          .describe('Manifest of the model pack that makes templates; null for the default pack.'),
        modelCacheDir: z
          .string()
          .min(1)
          .nullable()
          .default(null)
          .describe('Folder of the model files that the manifest names as cache:...; null for the default.'),
        keepPhotos: z
          .boolean()
          .default(false)
          .describe('Keep enrolment photos (encrypted) after the template is made; off by default.'),
        maxPhotoBytes: z
          .number()
          .int()
          .min(1024)
          .max(50 * 1024 * 1024)
          .default(10 * 1024 * 1024)
          .describe('Largest accepted photo upload.'),
        duplicateSimilarity: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .default(null)
          .describe(
            "A new face this similar to another person's template is refused as a likely duplicate; null uses the pack's match threshold.",
          ),
        loadAtStart: z
          .boolean()
          .default(false)
          .describe('Load the model pack at start-up instead of at the first enrolment.'),
      })
      .prefault({})
      .describe('Enrolment from photos.'),
    devices: z
      .strictObject({
        cacheSeconds: z
          .number()
          .min(0)
          .max(3600)
          .default(5)
          .describe(
            'How long a replica trusts its cached copy of a device record (revocations by other replicas).',
          ),
        syncLagSeconds: z
          .number()
          .min(0.1)
          .max(7 * 86_400)
          .default(300)
          .describe(
            "An online agent whose applied roster seq stays behind its site's latest change (erasures included), or whose outbox stays above maxBacklog, for this long raises a sync_lag alert; resolved once it has caught up.",
          ),
        maxBacklog: z
          .number()
          .int()
          .min(0)
          .default(1000)
          .describe(
            'Events waiting in an agent outbox (its status "backlog") above which it counts as behind.',
          ),
      })
      .prefault({})
      .describe('Device registry and monitoring.'),
  })
  .describe('TruePresence cloud hub.');

export type HubConfig = z.output<typeof hubConfigSchema>;
export type BrokerConfig = z.output<typeof brokerConfigSchema>;
export type EmbeddedBrokerConfig = z.output<typeof embeddedBrokerConfigSchema>;
export type ExternalBrokerConfig = z.output<typeof externalBrokerConfigSchema>;
