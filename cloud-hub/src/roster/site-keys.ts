// Site roster keys: the AES-256 keys that roster changes are encrypted with for each site (agents of the
// site hold the same key, from provisioning). Kept in the store encrypted with the hub's data key, so that
// replicas share them; decrypted copies are cached in memory.
import { randomBytes } from 'node:crypto';
import type { SiteKey } from '@truepresence/protocol';
import type { DataCipher } from '../data-cipher.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import type { HubRepository } from '../store/index.ts';

const keyIdPattern = /^[A-Za-z0-9_.-]{1,64}$/;

function context(siteId: string, keyId: string): string {
  return `site-key:${siteId}:${keyId}`;
}

export class SiteKeyring {
  readonly #cipher: DataCipher;
  readonly #current = new Map<string, SiteKey>();

  constructor(cipher: DataCipher) {
    this.#cipher = cipher;
  }

  /** Stores a site's roster key (made here when not given) and returns it. */
  async add(repo: HubRepository, siteId: string, given?: { id: string; key: Buffer }): Promise<SiteKey> {
    const key = given ?? { id: `${siteId}-1`, key: randomBytes(32) };
    if (!keyIdPattern.test(key.id) || key.key.byteLength !== 32) {
      throw hubError(
        HubErrorCode.siteKeyInvalid,
        'a site roster key is {"id": 1-64 chars of [A-Za-z0-9_.-], "key": 32 bytes in base64url}',
        { siteId },
      );
    }
    await repo.addSiteKey({
      siteId,
      keyId: key.id,
      sealedKey: this.#cipher.encrypt(key.key, context(siteId, key.id)),
    });
    this.#current.delete(siteId);
    return key;
  }

  /** The key new roster changes of the site are sealed with: its most recently added one. */
  async current(repo: HubRepository, siteId: string): Promise<SiteKey> {
    const cached = this.#current.get(siteId);
    if (cached) return cached;
    const [newest] = await repo.listSiteKeys(siteId);
    if (!newest) {
      throw hubError(
        HubErrorCode.siteKeyMissing,
        `site "${siteId}" has no roster key; create the site through the admin API or provisioning (init-site)`,
        { siteId },
      );
    }
    const key = {
      id: newest.keyId,
      key: this.#cipher.decrypt(newest.sealedKey, context(siteId, newest.keyId)),
    };
    this.#current.set(siteId, key);
    return key;
  }
}
