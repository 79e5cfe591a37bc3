// Roster catch-up: an agent asks for the changes after its roster seq on .../sync/req and gets them on
// .../sync in bounded batches (count and bytes), with `more` telling it to ask again until it is current.
import {
  decodePayload,
  isTpError,
  type Logger,
  MAX_BYTES,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
  type SealedRosterChange,
  type SyncResponse,
  syncRequestSchema,
  topics,
} from '@truepresence/protocol';
import type { BrokerMessage, HubBroker } from '../broker/broker.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { HubMetrics } from '../metrics.ts';
import type { HubStore } from '../store/index.ts';

/** Room left in a sync answer for its envelope, below the protocol's byte limit. */
const maxChangeBytes = MAX_BYTES.syncResponse - 16 * 1024;

export interface SyncOptions {
  store: HubStore;
  registry: DeviceRegistry;
  broker: Pick<HubBroker, 'publish'>;
  metrics: HubMetrics;
  logger: Logger;
  batchLimit: number;
}

export class RosterSync {
  readonly #o: SyncOptions;

  constructor(options: SyncOptions) {
    this.#o = options;
  }

  /** One message from `tp/v1/{site}/{device}/sync/req`; never throws. */
  handle(message: BrokerMessage, site: string, device: string): void {
    this.#answer(message, site, device).catch((error: unknown) => {
      const code = isTpError(error) ? error.code : 'internal';
      this.#o.metrics.messagesInvalid.inc({ topic: 'sync/req', code });
      this.#o.logger.warn({ err: error, site, device }, 'sync request not answered');
    });
  }

  async #answer(message: BrokerMessage, site: string, device: string): Promise<void> {
    const request = decodePayload(syncRequestSchema, message.payload, MAX_BYTES.syncRequest, 'sync request');
    const known = await this.#o.registry.ensure(device);
    const reply = (answer: Omit<SyncResponse, 'v' | 'requestId'>) =>
      this.#o.broker.publish(
        topics.syncResponse(site, device),
        JSON.stringify({ v: PROTOCOL_VERSION, requestId: request.requestId, ...answer }),
        { qos: 1 },
      );
    if (!known || known.siteId !== site || known.status !== 'active') {
      const error = known?.status === 'revoked' ? ProtocolErrorCode.keyRevoked : ProtocolErrorCode.keyUnknown;
      this.#o.logger.warn({ site, device, code: error }, 'sync request from a device that may not sync');
      await reply({ changes: [], currentSeq: 0, more: false, error });
      return;
    }
    const siteRecord = await this.#o.store.getSite(site);
    const currentSeq = siteRecord?.rosterSeq ?? 0;
    const rows = await this.#o.store.rosterChangesAfter(
      site,
      request.afterSeq,
      Math.min(request.limit, this.#o.batchLimit),
    );
    const changes: SealedRosterChange[] = [];
    let bytes = 0;
    for (const row of rows) {
      bytes += row.payload.byteLength;
      if (changes.length > 0 && bytes > maxChangeBytes) break;
      changes.push(JSON.parse(row.payload.toString('utf8')) as SealedRosterChange);
    }
    const lastSeq = changes.at(-1)?.seq ?? request.afterSeq;
    await reply({ changes, currentSeq, more: lastSeq < currentSeq });
    this.#o.metrics.syncAnswers.inc();
  }
}
