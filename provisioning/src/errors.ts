import { codedError } from '@truepresence/protocol';

/** Stable codes of the provisioning CLI. They appear on stderr and in --json output; never reuse a code. */
export const ProvisionErrorCode = {
  usage: 'TP_PROV_USAGE',
  timeZoneInvalid: 'TP_PROV_TIME_ZONE_INVALID',
  siteExists: 'TP_PROV_SITE_EXISTS',
  siteUnknown: 'TP_PROV_SITE_UNKNOWN',
  siteFileInvalid: 'TP_PROV_SITE_FILE_INVALID',
  bundleExists: 'TP_PROV_BUNDLE_EXISTS',
  writeFailed: 'TP_PROV_WRITE_FAILED',
  hubKeyInvalid: 'TP_PROV_HUB_KEY_INVALID',
  hubUnreachable: 'TP_PROV_HUB_UNREACHABLE',
  hubAuth: 'TP_PROV_HUB_AUTH',
  hubRefused: 'TP_PROV_HUB_REFUSED',
  hubResponseInvalid: 'TP_PROV_HUB_RESPONSE_INVALID',
  exportInvalid: 'TP_PROV_EXPORT_INVALID',
  internal: 'TP_PROV_INTERNAL',
} as const;

export type ProvisionErrorCode = (typeof ProvisionErrorCode)[keyof typeof ProvisionErrorCode];

export const provisionError = codedError<ProvisionErrorCode>;
