// Online registration through the hub's admin API, authenticated with the admin API token (Bearer).
import type { Logger } from '@truepresence/protocol';
import { scrubUrlCredentials } from '@truepresence/protocol';
import { ProvisionErrorCode, provisionError } from '../errors.ts';
import {
  type DeviceRegistration,
  type DeviceRevocation,
  type HubKey,
  hubKeyResponseSchema,
  type SiteRegistration,
} from '../registration.ts';
import type { Registrar } from './registrar.ts';

export interface HubApiOptions {
  /** Base URL of the hub, e.g. https://hub.example.com or http://127.0.0.1:8080. */
  url: string;
  token: string;
  timeoutMs: number;
}

export class HubApiRegistrar implements Registrar {
  readonly target: string;
  readonly #options: HubApiOptions;
  readonly #log: Logger;

  constructor(options: HubApiOptions, logger: Logger) {
    this.#options = options;
    this.target = `hub ${scrubUrlCredentials(options.url)}`;
    this.#log = logger.child({ component: 'hub-api' });
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.#options.url.endsWith('/') ? this.#options.url : `${this.#options.url}/`);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.#options.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (cause) {
      throw provisionError(
        ProvisionErrorCode.hubUnreachable,
        `cannot reach the hub at ${url.origin}: ${(cause as Error).message}; check --hub and that the hub runs`,
        { url: url.origin },
        cause,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    this.#log.debug({ method, path, status: response.status }, 'hub answered');
    if (response.ok) return json;
    const hubError = json as { code?: unknown; message?: unknown } | undefined;
    const hubCode = typeof hubError?.code === 'string' ? hubError.code : undefined;
    const hubMessage = typeof hubError?.message === 'string' ? hubError.message : text.slice(0, 300);
    const details = { status: response.status, method, path, ...(hubCode ? { hubCode } : {}) };
    if (response.status === 401 || response.status === 403) {
      throw provisionError(
        ProvisionErrorCode.hubAuth,
        `the hub refused the admin API token (HTTP ${response.status}); --token-file must hold the hub's admin API token`,
        details,
      );
    }
    throw provisionError(
      ProvisionErrorCode.hubRefused,
      `the hub refused ${method} ${path} (HTTP ${response.status}${hubCode ? ` ${hubCode}` : ''}): ${hubMessage}`,
      details,
    );
  }

  async hubKey(): Promise<HubKey> {
    const answer = await this.#call('GET', 'api/v1/hub-key');
    const parsed = hubKeyResponseSchema.safeParse(answer);
    if (!parsed.success) {
      throw provisionError(
        ProvisionErrorCode.hubResponseInvalid,
        'the hub answered GET /api/v1/hub-key with something other than {"keyId", "publicKey"}',
        { issues: parsed.error.issues.map((issue) => issue.message) },
      );
    }
    return parsed.data;
  }

  async registerSite(site: SiteRegistration): Promise<void> {
    await this.#call('POST', 'api/v1/sites', site);
    this.#log.info({ site: site.id, rosterKeyId: site.rosterKey.id }, 'site registered with the hub');
  }

  async registerDevice(device: DeviceRegistration): Promise<void> {
    await this.#call('POST', 'api/v1/devices', device);
    this.#log.info({ site: device.site, device: device.id }, 'device registered with the hub');
  }

  async revokeDevice(revocation: DeviceRevocation): Promise<void> {
    await this.#call('POST', `api/v1/devices/${encodeURIComponent(revocation.id)}/revoke`, revocation);
    this.#log.info({ site: revocation.site, device: revocation.id }, 'device revoked on the hub');
  }
}
