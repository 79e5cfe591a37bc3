// Roster changes: every change to what agents must know about a person (templates added or removed, sites
// joined or left, erasure) gets the site's next roster seq, is sealed (hub-signed, encrypted for the site)
// inside the store transaction that makes it, and is published on tp/v1/{site}/roster once committed.
// Agents that missed it catch up through sync. Erasure also re-seals the person's earlier enrol and update
// changes as erasures of the same seq, so that no template of an erased person survives in the change log.
import {
  EMBEDDING_DIMENSIONS,
  encodeVector,
  type HubSigningKey,
  type Logger,
  PROTOCOL_VERSION,
  sealRosterChange,
  topics,
  type RosterChange as WireRosterChange,
} from '@truepresence/protocol';
import type { HubBroker } from '../broker/broker.ts';
import type { DataCipher } from '../data-cipher.ts';
import type { HubMetrics } from '../metrics.ts';
import type {
  ErasureResult,
  HubRepository,
  HubStore,
  RosterChange,
  RosterChangeKind,
  RosterSealer,
  TemplateRecord,
} from '../store/index.ts';
import type { SiteKeyring } from './site-keys.ts';

function templateContext(personId: string): string {
  return `template:${personId}`;
}

export interface RosterOptions {
  store: HubStore;
  broker: Pick<HubBroker, 'publish'>;
  keyring: SiteKeyring;
  hubKey: HubSigningKey;
  cipher: DataCipher;
  metrics: HubMetrics;
  logger: Logger;
}

export class RosterService {
  readonly #o: RosterOptions;

  constructor(options: RosterOptions) {
    this.#o = options;
  }

  /** The embedding of a stored template, decrypted. */
  decryptTemplate(template: TemplateRecord): Float32Array {
    const bytes = this.#o.cipher.decrypt(template.template, templateContext(template.personId));
    const vector = new Float32Array(EMBEDDING_DIMENSIONS);
    new Uint8Array(vector.buffer).set(bytes.subarray(0, EMBEDDING_DIMENSIONS * 4));
    return vector;
  }

  encryptTemplate(personId: string, embedding: Float32Array): Buffer {
    return this.#o.cipher.encrypt(
      new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength),
      templateContext(personId),
    );
  }

  #sealer(repo: HubRepository, personId: string, templates: WireRosterChange['templates']): RosterSealer {
    return async (header) => {
      const change: WireRosterChange = {
        v: PROTOCOL_VERSION,
        site: header.siteId,
        seq: header.seq,
        kind: header.kind,
        personId,
        templates: header.kind === 'erase' ? [] : templates,
        issuedAt: new Date(header.createdAt).toISOString(),
      };
      const siteKey = await this.#o.keyring.current(repo, header.siteId);
      return Buffer.from(JSON.stringify(sealRosterChange(change, siteKey, this.#o.hubKey)));
    };
  }

  async #wireTemplates(repo: HubRepository, personId: string): Promise<WireRosterChange['templates']> {
    const records = await repo.listTemplates({ personId });
    return records.map((t) => ({
      id: t.id,
      modelPack: t.modelPackVersion,
      vector: encodeVector(this.decryptTemplate(t)),
    }));
  }

  /**
   * Inside a transaction, after the person's templates changed: sends their whole template set to each of
   * `siteIds` (enrol when `firstTime`, update otherwise; erase when no template is left).
   */
  async templatesChanged(
    repo: HubRepository,
    personId: string,
    siteIds: readonly string[],
    firstTime: boolean,
  ): Promise<RosterChange[]> {
    const templates = await this.#wireTemplates(repo, personId);
    const kind: RosterChangeKind = templates.length === 0 ? 'erase' : firstTime ? 'enrol' : 'update';
    const changes: RosterChange[] = [];
    for (const siteId of siteIds) {
      changes.push(
        await repo.appendRosterChange({
          siteId,
          kind,
          personId,
          seal: this.#sealer(repo, personId, templates),
        }),
      );
    }
    return changes;
  }

  /** Inside a transaction, after the person's sites changed: enrol where they arrive, erase where they left. */
  async sitesChanged(
    repo: HubRepository,
    personId: string,
    before: readonly string[],
    after: readonly string[],
  ): Promise<RosterChange[]> {
    const templates = await this.#wireTemplates(repo, personId);
    if (templates.length === 0) return [];
    const changes: RosterChange[] = [];
    for (const siteId of after.filter((s) => !before.includes(s))) {
      changes.push(
        await repo.appendRosterChange({
          siteId,
          kind: 'enrol',
          personId,
          seal: this.#sealer(repo, personId, templates),
        }),
      );
    }
    for (const siteId of before.filter((s) => !after.includes(s))) {
      changes.push(
        await repo.appendRosterChange({
          siteId,
          kind: 'erase',
          personId,
          seal: this.#sealer(repo, personId, []),
        }),
      );
    }
    return changes;
  }

  /**
   * Inside a transaction: erases the person (templates, photos, consents withdrawn), re-seals their earlier
   * enrol and update changes as erasures of the same seq and appends an erase change per site.
   */
  erase(repo: HubRepository, personId: string, by: string): Promise<ErasureResult> {
    return repo.erasePerson(personId, { by, seal: this.#sealer(repo, personId, []) });
  }

  /** After the commit: publishes the changes to their sites' roster topics. */
  async publish(changes: readonly RosterChange[]): Promise<void> {
    for (const change of changes) {
      try {
        await this.#o.broker.publish(topics.roster(change.siteId), change.payload, { qos: 1 });
        this.#o.metrics.rosterChanges.inc({ kind: change.kind });
      } catch (error) {
        // Committed already: agents get it through sync when they next ask.
        this.#o.logger.warn(
          { err: error, site: change.siteId, seq: change.seq },
          'roster change not published',
        );
      }
    }
  }
}
