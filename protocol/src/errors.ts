import { codedError } from './tp-error.ts';

/** Stable codes of the protocol workspace (wire contract, config and secrets). Never reuse a code. */
export const ProtocolErrorCode = {
  topicInvalid: 'TP_PROTO_TOPIC_INVALID',
  payloadTooLarge: 'TP_PROTO_PAYLOAD_TOO_LARGE',
  payloadNotUtf8: 'TP_PROTO_PAYLOAD_NOT_UTF8',
  payloadNotJson: 'TP_PROTO_PAYLOAD_NOT_JSON',
  payloadTooDeep: 'TP_PROTO_PAYLOAD_TOO_DEEP',
  schema: 'TP_PROTO_SCHEMA',
  notCanonicalizable: 'TP_PROTO_NOT_CANONICALIZABLE',
  keyInvalid: 'TP_PROTO_KEY_INVALID',
  signatureBad: 'TP_PROTO_SIGNATURE_BAD',
  keyUnknown: 'TP_PROTO_KEY_UNKNOWN',
  keyRevoked: 'TP_PROTO_KEY_REVOKED',
  deviceMismatch: 'TP_PROTO_DEVICE_MISMATCH',
  sequenceGap: 'TP_PROTO_SEQUENCE_GAP',
  chainBroken: 'TP_PROTO_CHAIN_BROKEN',
  replay: 'TP_PROTO_REPLAY',
  rosterKeyUnknown: 'TP_PROTO_ROSTER_KEY_UNKNOWN',
  rosterSiteMismatch: 'TP_PROTO_ROSTER_SITE_MISMATCH',
  rosterSignatureBad: 'TP_PROTO_ROSTER_SIGNATURE_BAD',
  rosterDecryptFailed: 'TP_PROTO_ROSTER_DECRYPT_FAILED',
  configInvalid: 'TP_CONFIG_INVALID',
  configUnreadable: 'TP_CONFIG_UNREADABLE',
  secretMissing: 'TP_SECRET_MISSING',
  secretInsecure: 'TP_SECRET_INSECURE',
} as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export const protocolError = codedError<ProtocolErrorCode>;
