// What the hub learns from provisioning, as request bodies of its admin API and as entries of the offline
// registration file (`--export FILE`) that the hub imports later. Only public facts and hashes travel, with
// one exception: a site entry carries the site roster key, which the hub needs to seal roster changes.
import { idSchema, publicKeyFromBase64 } from '@truepresence/protocol';
import { z } from 'zod';

export const keyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a key id of 1-64 [A-Za-z0-9_.-]')
  .describe('Name of a key, as roster changes and bundles refer to it.');

const key32Schema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes in unpadded base64url')
  .describe('32 bytes, unpadded base64url.');

export const ed25519PublicKeySchema = key32Schema
  .refine(
    (text) => {
      try {
        publicKeyFromBase64(text);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected an Ed25519 public key (32 raw bytes, base64url)' },
  )
  .describe('Ed25519 public key: the 32 raw bytes in unpadded base64url.');

/** scrypt in PHC form, as the hub's passwords.ts reads it: `$scrypt$ln=15,r=8,p=1$SALT$HASH`. */
export const scryptHashSchema = z
  .string()
  .regex(
    /^\$scrypt\$ln=(1[4-9]|20),r=\d{1,2},p=\d{1,2}\$[A-Za-z0-9+/]{16,88}\$[A-Za-z0-9+/]{43,88}$/,
    'expected a scrypt hash "$scrypt$ln=15,r=8,p=1$SALT$HASH" (unpadded base64)',
  )
  .describe('scrypt hash of the broker password in PHC form; the password itself never leaves the bundle.');

export const siteRegistrationSchema = z
  .strictObject({
    id: idSchema.describe('Site id, as in MQTT topics.'),
    name: z.string().min(1).max(200).describe('Display name of the site.'),
    timeZone: z.string().min(1).max(64).describe('IANA time zone; attendance days are counted in it.'),
    rosterKey: z
      .strictObject({
        id: keyIdSchema,
        key: key32Schema.describe(
          'The AES-256-GCM site roster key; the hub stores it encrypted with its data key.',
        ),
      })
      .describe('The key roster changes of this site are encrypted with.'),
  })
  .describe('POST /api/v1/sites body: a new site and its roster key.');
export type SiteRegistration = z.infer<typeof siteRegistrationSchema>;

export const deviceRegistrationSchema = z
  .strictObject({
    id: idSchema.describe('Device id, as in MQTT topics.'),
    site: idSchema.describe('Site the device belongs to (registered before).'),
    publicKey: ed25519PublicKeySchema.describe(
      "The device's event-signing key; the private half is only in its bundle.",
    ),
    brokerUsername: z
      .string()
      .regex(/^[a-z0-9_.-]{1,128}$/)
      .describe('MQTT user name of the device ("SITE.DEVICE").'),
    brokerPasswordHash: scryptHashSchema,
    profile: z.string().min(1).max(64).describe('Device profile written into the bundle ("auto" or a name).'),
  })
  .describe('POST /api/v1/devices body: a device made by add-device.');
export type DeviceRegistration = z.infer<typeof deviceRegistrationSchema>;

export const deviceRevocationSchema = z
  .strictObject({
    site: idSchema.describe('Site of the device.'),
    id: idSchema.describe('Device id.'),
    reason: z.string().max(500).default('').describe('Why, for the audit log.'),
  })
  .describe(
    'POST /api/v1/devices/{id}/revoke body: from then on the hub refuses its events and its broker login.',
  );
export type DeviceRevocation = z.infer<typeof deviceRevocationSchema>;

/** The hub's answer to GET /api/v1/hub-key: the key agents verify roster changes with. */
export const hubKeyResponseSchema = z.strictObject({
  keyId: keyIdSchema.describe('The hub signing key id (config keys.hubKeyId).'),
  publicKey: ed25519PublicKeySchema,
});
export type HubKey = z.infer<typeof hubKeyResponseSchema>;

const at = z.iso.datetime({ offset: false }).describe('When provisioning made the entry (UTC).');

export const registrationEntrySchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('site'), at, site: siteRegistrationSchema }),
    z.strictObject({ kind: z.literal('device'), at, device: deviceRegistrationSchema }),
    z.strictObject({ kind: z.literal('revocation'), at, revocation: deviceRevocationSchema }),
  ])
  .describe('One registration, applied by the hub in file order.');
export type RegistrationEntry = z.infer<typeof registrationEntrySchema>;

export const REGISTRATION_FILE_FORMAT = 'truepresence-registrations';

export const registrationFileSchema = z
  .strictObject({
    format: z.literal(REGISTRATION_FILE_FORMAT).describe('Marks the file for the hub import.'),
    version: z.literal(1).describe('Version of this file layout.'),
    entries: z.array(registrationEntrySchema).describe('Sites, devices and revocations, oldest first.'),
  })
  .describe(
    'Offline registration file written by `truepresence-provision ... --export FILE` and imported by the hub. Mode 0600: a site entry holds the site roster key.',
  );
export type RegistrationFile = z.infer<typeof registrationFileSchema>;
