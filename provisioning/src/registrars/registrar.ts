import type { DeviceRegistration, DeviceRevocation, HubKey, SiteRegistration } from '../registration.ts';

/** Where the hub learns what provisioning made: its admin API (online) or a registration file (offline). */
export interface Registrar {
  /** For messages: "hub https://..." or "registration file PATH". */
  readonly target: string;
  /** The hub's roster signing key, when the hub can be asked (online); undefined offline. */
  hubKey(): Promise<HubKey | undefined>;
  registerSite(site: SiteRegistration): Promise<void>;
  registerDevice(device: DeviceRegistration): Promise<void>;
  revokeDevice(revocation: DeviceRevocation): Promise<void>;
}
